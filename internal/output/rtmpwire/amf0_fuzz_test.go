package rtmpwire

import (
	"bytes"
	"testing"

	"github.com/yutopp/go-amf0"
)

// A connect command as OBS sends it passes; the allocation bombs that would
// take the master down do not.
func TestCheckAMF0(t *testing.T) {
	var connect bytes.Buffer
	enc := amf0.NewEncoder(&connect)
	for _, v := range []any{"connect", 1.0, map[string]any{"app": "live", "tcUrl": "rtmp://h/live", "fpad": false},
		nil, amf0.ECMAArray{"width": 1280.0}, []any{"a", 2.0}} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckAMF0(connect.Bytes()); err != nil {
		t.Errorf("a real command refused: %v", err)
	}
	for name, b := range map[string][]byte{
		"strict array of 2^31 elements": {amf0StrictArray, 0x7f, 0xff, 0xff, 0xff, amf0Null},
		"long string of 4 GiB":          {amf0LongString, 0xff, 0xff, 0xff, 0xff, 'x'},
		"string past the end":           {amf0String, 0x00, 0x10, 'x'},
		"object without its end":        {amf0Object, 0x00, 0x01, 'k', amf0Null},
		"nested too deep":               bytes.Repeat([]byte{amf0StrictArray, 0, 0, 0, 1}, maxAMF0Depth+2),
		"AMF3 switch":                   {0x11, 0x01},
	} {
		if err := CheckAMF0(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Whatever CheckAMF0 accepts, go-amf0 decodes without a panic and without
// allocating more than the message could describe.
func FuzzCheckAMF0(f *testing.F) {
	f.Add([]byte{amf0String, 0, 7, 'c', 'o', 'n', 'n', 'e', 'c', 't', amf0Number, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{amf0StrictArray, 0, 0, 0, 2, amf0Null, amf0Boolean, 1})
	f.Add([]byte{amf0ECMAArray, 0xff, 0xff, 0xff, 0xff, 0, 1, 'k', amf0Null, 0, 0, amf0ObjectEnd})
	f.Add([]byte{amf0StrictArray, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckAMF0(b) != nil {
			return
		}
		dec := amf0.NewDecoder(bytes.NewReader(b))
		for i := 0; i <= len(b); i++ {
			var v any
			if dec.Decode(&v) != nil {
				return
			}
		}
	})
}
