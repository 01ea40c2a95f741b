package audio

// #cgo pkg-config: libavdevice libavformat libavcodec libavutil
// #include <stdlib.h>
// #include <libavdevice/avdevice.h>
// #include <libavformat/avformat.h>
// #include <libavutil/dict.h>
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// pulseFragment is how much PulseAudio hands over at a time: 40 ms of
// 48 kHz s16 stereo. It bounds capture latency, and how long a read (and so
// Close) waits while the server is alive. Each hand-over wakes a blocked
// cgo call, which costs far more than the samples: 20 ms fragments cost
// twice the CPU. The mixer's DefaultLatency leaves room for a late one.
const pulseFragment = SampleRate / 25 * Channels * 2

var registerOnce sync.Once

func pulseFormat() *C.AVInputFormat {
	registerOnce.Do(func() { C.avdevice_register_all() })
	name := C.CString("pulse")
	defer C.free(unsafe.Pointer(name))
	return C.av_find_input_format(name)
}

// pulseOptions are the pulse input's options: the server when one is
// named (else libpulse's own lookup: $PULSE_SERVER, then the user's
// runtime directory), and 48 kHz stereo s16 asked of the server.
func pulseOptions(server string) *C.AVDictionary {
	var d *C.AVDictionary
	set := func(k, v string) {
		ck, cv := C.CString(k), C.CString(v)
		C.av_dict_set(&d, ck, cv, 0)
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
	}
	if server != "" {
		set("server", server)
	}
	set("sample_rate", fmt.Sprint(SampleRate))
	set("channels", fmt.Sprint(Channels))
	set("fragment_size", fmt.Sprint(pulseFragment))
	return d
}

// Device is a PulseAudio source that can be captured.
type Device struct {
	Name        string // what "pulse:NAME" takes
	Description string // what a person reads, e.g. "Monitor of Built-in Audio"
}

// devices lists the server's sources and the default one.
func devices(server string) (list []Device, def string, err error) {
	f := pulseFormat()
	if f == nil {
		return nil, "", errors.New("this FFmpeg has no pulse input")
	}
	opts := pulseOptions(server)
	defer C.av_dict_free(&opts)
	var dl *C.AVDeviceInfoList
	if rc := C.avdevice_list_input_sources(f, nil, opts, &dl); rc < 0 {
		return nil, "", averr("listing PulseAudio sources", rc)
	}
	defer C.avdevice_free_list_devices(&dl)
	infos := unsafe.Slice(dl.devices, dl.nb_devices)
	for i, d := range infos {
		list = append(list, Device{Name: C.GoString(d.device_name), Description: C.GoString(d.device_description)})
		if i == int(dl.default_device) {
			def = list[i].Name
		}
	}
	return list, def, nil
}

// pulseInput is one open capture stream from a PulseAudio source.
type pulseInput struct {
	ctx      *C.AVFormatContext
	pkt      *C.AVPacket
	rate, ch int
	buf      []int16
}

// openPulse opens device ("@DEFAULT_SOURCE@", "@DEFAULT_MONITOR@" or a
// source name) on server.
func openPulse(server, device string) (*pulseInput, error) {
	f := pulseFormat()
	if f == nil {
		return nil, errors.New("this FFmpeg has no pulse input")
	}
	opts := pulseOptions(server)
	defer C.av_dict_free(&opts)
	name := C.CString(device)
	defer C.free(unsafe.Pointer(name))
	p := &pulseInput{}
	if rc := C.avformat_open_input(&p.ctx, name, f, &opts); rc < 0 {
		return nil, averr("connecting to PulseAudio", rc)
	}
	if p.ctx.nb_streams < 1 {
		p.close()
		return nil, errors.New("PulseAudio gave no stream")
	}
	par := (*[1]*C.AVStream)(unsafe.Pointer(p.ctx.streams))[0].codecpar
	p.rate, p.ch = int(par.sample_rate), int(par.ch_layout.nb_channels)
	if par.codec_id != C.AV_CODEC_ID_PCM_S16LE {
		p.close()
		return nil, fmt.Errorf("PulseAudio gave codec %d, not s16le", par.codec_id)
	}
	if p.pkt = C.av_packet_alloc(); p.pkt == nil {
		p.close()
		return nil, errors.New("out of memory")
	}
	return p, nil
}

// read returns the next chunk of interleaved s16 samples, reusing the
// slice the next time.
func (p *pulseInput) read() ([]int16, error) {
	if rc := C.av_read_frame(p.ctx, p.pkt); rc < 0 {
		return nil, averr("reading from PulseAudio", rc)
	}
	defer C.av_packet_unref(p.pkt)
	n := int(p.pkt.size) / 2
	if cap(p.buf) < n {
		p.buf = make([]int16, n)
	}
	p.buf = p.buf[:n]
	if n > 0 {
		copy(p.buf, unsafe.Slice((*int16)(unsafe.Pointer(p.pkt.data)), n))
	}
	return p.buf, nil
}

func (p *pulseInput) close() {
	C.av_packet_free(&p.pkt)
	C.avformat_close_input(&p.ctx)
}
