package audio

// #cgo pkg-config: libavdevice libavformat libavcodec libavutil
// #include <stdlib.h>
// #include <libavdevice/avdevice.h>
// #include <libavformat/avformat.h>
// #include <libavutil/dict.h>
// #include "pulsereader.h"
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// pulseFragment is how much PulseAudio hands over at a time: 40 ms of
// 48 kHz s16 stereo. It bounds capture latency, and how long a read (and so
// Close) waits while the server is alive. Each hand-over wakes a blocked
// thread and the Go side, which costs far more than the samples: 20 ms
// fragments cost twice the CPU of 40 ms ones. The mixer's DefaultLatency
// leaves room for a late one.
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

// pulseInput is one open capture stream from a PulseAudio source. A C
// thread waits for the server and queues each packet with its arrival time
// (see pulsereader.c); take hands them over on the goroutine that mixes,
// so no goroutine wakes for each packet: those wake-ups cost more CPU than
// the sound itself.
type pulseInput struct {
	ctx      *C.AVFormatContext
	reader   *C.onair_pulse_reader // nil once joined
	pipe     *os.File              // read end: ends when the thread does
	ended    chan struct{}         // closed when the thread has ended
	rate, ch int
	raw      []byte
	buf      []int16
}

// maxPulsePacket bounds what one queued packet may hold.
const maxPulsePacket = 1 << 20

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
	r, w, err := os.Pipe()
	if err != nil {
		p.close()
		return nil, err
	}
	fd, err := syscall.Dup(int(w.Fd())) // the C thread's
	w.Close()
	if err != nil {
		r.Close()
		p.close()
		return nil, err
	}
	if p.reader = C.onair_pulse_reader_start(p.ctx, C.int(fd)); p.reader == nil {
		syscall.Close(fd)
		r.Close()
		p.close()
		return nil, errors.New("starting the capture thread")
	}
	p.pipe, p.ended, p.raw = r, make(chan struct{}), make([]byte, 2*pulseFragment)
	go func() {
		// The thread writes nothing; the read returns when it closes its
		// end (or close closes this one), waiting in the network poller.
		_, _ = io.Copy(io.Discard, r)
		close(p.ended)
	}()
	return p, nil
}

// take returns the oldest queued chunk of interleaved s16 samples and when
// it arrived on the monotonic clock (see monotonicNow), reusing the slice
// the next time; ok is false when nothing is queued.
func (p *pulseInput) take() (pcm []int16, arrival time.Duration, ok bool) {
	var at C.int64_t
	n := C.onair_pulse_reader_take(p.reader, unsafe.Pointer(&p.raw[0]), C.int(len(p.raw)), &at)
	if n < 0 && -n <= maxPulsePacket {
		p.raw = make([]byte, -n)
		n = C.onair_pulse_reader_take(p.reader, unsafe.Pointer(&p.raw[0]), C.int(len(p.raw)), &at)
	}
	if n <= 0 {
		return nil, 0, false
	}
	raw := p.raw[:n]
	if cap(p.buf) < len(raw)/2 {
		p.buf = make([]int16, len(raw)/2)
	}
	p.buf = p.buf[:len(raw)/2]
	for i := range p.buf {
		p.buf[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return p.buf, time.Duration(at), true
}

// stopSoon asks the capture thread to end after its current packet, which
// ends the stream (see ended).
func (p *pulseInput) stopSoon() { C.onair_pulse_reader_stop(p.reader) }

// quiet is how long ago the newest chunk arrived; ok is false when none
// has yet.
func (p *pulseInput) quiet() (d time.Duration, ok bool) {
	last := C.onair_pulse_reader_last_arrival(p.reader)
	if last == 0 {
		return 0, false
	}
	return monotonicNow() - time.Duration(last), true
}

// monotonicNow is the clock take's arrival times are on.
func monotonicNow() time.Duration { return time.Duration(C.onair_monotonic_ns()) }

// close stops the reader thread (after the packet it waits for) and closes
// the stream. It returns why the thread had ended by itself, if it had.
func (p *pulseInput) close() error {
	var err error
	if p.reader != nil {
		C.onair_pulse_reader_stop(p.reader)
		p.pipe.Close()
		if rc := C.onair_pulse_reader_join(p.reader); rc != 0 {
			err = averr("reading from PulseAudio", rc)
		}
		p.reader = nil
		<-p.ended
	}
	C.avformat_close_input(&p.ctx)
	return err
}
