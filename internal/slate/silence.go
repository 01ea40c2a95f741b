package slate

import "github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

// SilentAAC is one silent raw AAC-LC frame for config c, nil for any other
// object type or a channel count other than 1 or 2. It is built bit by bit
// (ISO/IEC 14496-3, raw_data_block): one channel element whose
// channels code no scale-factor band (max_sfb 0), so every decoder outputs
// zeros for 1024 samples, at any sample rate. The master links no codec, so
// it cannot encode the silence it fills an outage's sound gap with; this
// frame matches whatever config the source had.
func SilentAAC(c *mpeg4audio.AudioSpecificConfig) []byte {
	if c == nil || c.Type != mpeg4audio.ObjectTypeAACLC || c.ChannelCount < 1 || c.ChannelCount > 2 {
		return nil
	}
	var w bitWriter
	icsInfo := func() {
		w.put(0, 1) // ics_reserved_bit
		w.put(0, 2) // window_sequence: ONLY_LONG_SEQUENCE
		w.put(0, 1) // window_shape
		w.put(0, 6) // max_sfb: no bands, so no section or scale-factor data
		w.put(0, 1) // predictor_data_present
	}
	channel := func(commonWindow bool) {
		w.put(100, 8) // global_gain: any value, nothing is scaled by it
		if !commonWindow {
			icsInfo()
		}
		w.put(0, 1) // pulse_data_present
		w.put(0, 1) // tns_data_present
		w.put(0, 1) // gain_control_data_present
	}
	if c.ChannelCount == 1 {
		w.put(0, 3) // ID_SCE
		w.put(0, 4) // element_instance_tag
		channel(false)
	} else {
		w.put(1, 3) // ID_CPE
		w.put(0, 4) // element_instance_tag
		w.put(1, 1) // common_window
		icsInfo()
		w.put(0, 2) // ms_mask_present
		channel(true)
		channel(true)
	}
	w.put(7, 3) // ID_END
	return w.bytes()
}

// bitWriter writes bits most significant first.
type bitWriter struct {
	buf []byte
	n   int // bits written
}

func (w *bitWriter) put(v uint, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.buf[w.n/8] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

// bytes is what was written, padded with zeros to a whole byte.
func (w *bitWriter) bytes() []byte { return w.buf }
