package codec

import "errors"

// BackendResult says whether one backend works on this machine.
type BackendResult struct {
	Name string
	OK   bool
	// Reason is why the backend was refused, as libavcodec put it
	// (e.g. "Cannot load libcuda.so.1 (avcodec_open2: ...)"); empty if OK.
	Reason string
}

// Probe tries every backend in "auto" order with s (its Backend field is
// ignored): each must open and encode a test frame at s's size to count.
// It is slow-ish (a few encoder opens); call it for a settings page or a
// log line, not per frame.
func Probe(s Settings) []BackendResult {
	s.Backend = BackendAuto
	rs, err := s.resolve()
	out := make([]BackendResult, 0, len(autoOrder))
	for _, b := range autoOrder {
		r := BackendResult{Name: b}
		if err != nil {
			r.Reason = err.Error()
		} else if err := tryBackend(b, rs); err != nil {
			r.Reason = err.Error()
			var be *backendError
			if errors.As(err, &be) {
				r.Reason = be.reason
			}
		} else {
			r.OK = true
		}
		out = append(out, r)
	}
	return out
}
