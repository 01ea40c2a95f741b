package codec

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// CaptureTimeUUID marks OnAir's capture-time SEI message.
//
// Every access unit the Encoder produces carries one SEI NAL unit (type 6)
// holding one user_data_unregistered message (payloadType 5) of 24 bytes:
//
//	bytes 0-15   this UUID, in its usual big-endian byte order
//	bytes 16-23  the capture time, Unix microseconds, big-endian int64
//
// The NAL unit sits before the access unit's first slice (so after any
// access unit delimiter, SPS and PPS), with emulation-prevention bytes as
// H.264 section 7.4.1 requires. Decoders that do not know the UUID skip it.
const CaptureTimeUUID = "df7c49f8-b8d7-468e-96a0-0795b3f9a001"

var captureTimeUUID = [16]byte{
	0xdf, 0x7c, 0x49, 0xf8, 0xb8, 0xd7, 0x46, 0x8e,
	0x96, 0xa0, 0x07, 0x95, 0xb3, 0xf9, 0xa0, 0x01,
}

const (
	naluSEI            = 6
	seiUserDataUnreg   = 5
	captureTimePayload = 16 + 8
)

// CaptureTimeSEI returns the SEI NAL unit (without start code) that carries
// t at microsecond precision.
func CaptureTimeSEI(t time.Time) []byte {
	rbsp := make([]byte, 0, 2+captureTimePayload+1)
	rbsp = append(rbsp, seiUserDataUnreg, captureTimePayload)
	rbsp = append(rbsp, captureTimeUUID[:]...)
	rbsp = binary.BigEndian.AppendUint64(rbsp, uint64(t.UnixMicro()))
	rbsp = append(rbsp, 0x80) // rbsp_trailing_bits
	return append([]byte{naluSEI}, emulationPreventionAdd(rbsp)...)
}

// emulationPreventionAdd inserts 0x03 after every two zero bytes that are
// followed by a byte <= 3, so no start code can appear inside a NAL unit.
// (mediacommon has only the removing half.)
func emulationPreventionAdd(rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+len(rbsp)/2)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// ParseCaptureTime finds the capture-time SEI in an access unit given as NAL
// units without start codes (the form RTP depacketizers return).
func ParseCaptureTime(au [][]byte) (time.Time, bool) {
	for _, nalu := range au {
		if len(nalu) > 1 && nalu[0]&0x1f == naluSEI {
			if t, ok := parseSEI(h264.EmulationPreventionRemove(nalu[1:])); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// ParseCaptureTimeAnnexB is ParseCaptureTime for an Annex-B access unit.
func ParseCaptureTimeAnnexB(annexB []byte) (time.Time, bool) {
	var au h264.AnnexB
	if err := au.Unmarshal(annexB); err != nil {
		return time.Time{}, false
	}
	return ParseCaptureTime(au)
}

// parseSEI walks the sei_message()s of one SEI RBSP (H.264 7.3.2.3.1).
func parseSEI(rbsp []byte) (time.Time, bool) {
	readVal := func() (int, bool) {
		v := 0
		for len(rbsp) > 0 {
			b := rbsp[0]
			rbsp = rbsp[1:]
			v += int(b)
			if b != 0xff {
				return v, true
			}
		}
		return 0, false
	}
	// A lone 0x80 left over is the trailing bits, not another message.
	for len(rbsp) > 1 {
		typ, ok1 := readVal()
		size, ok2 := readVal()
		if !ok1 || !ok2 || size > len(rbsp) {
			return time.Time{}, false
		}
		payload := rbsp[:size]
		rbsp = rbsp[size:]
		if typ == seiUserDataUnreg && size >= captureTimePayload &&
			bytes.Equal(payload[:16], captureTimeUUID[:]) {
			return time.UnixMicro(int64(binary.BigEndian.Uint64(payload[16:24]))), true
		}
	}
	return time.Time{}, false
}

// insertSEI returns au with sei placed just before the first slice, which is
// after any AUD, SPS, PPS and the encoder's own SEI.
func insertSEI(au [][]byte, sei []byte) [][]byte {
	i := 0
	for i < len(au) && !isVCL(au[i]) {
		i++
	}
	out := make([][]byte, 0, len(au)+1)
	out = append(out, au[:i]...)
	out = append(out, sei)
	return append(out, au[i:]...)
}

func isVCL(nalu []byte) bool {
	if len(nalu) == 0 {
		return false
	}
	t := h264.NALUType(nalu[0] & 0x1f)
	return t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR
}
