package master

import (
	"context"

	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub/pb"
)

// spareName is the spare encoder's name in status.
const spareName = "encoder-standby"

// spareSpec is how the master keeps its spare encoder: configured with the
// same desired state as the active one but held silent, and promoted with
// the state as it is at that moment, so it never airs stale settings.
func (m *Master) spareSpec(promote func(context.Context, pb.EncoderClient) (uint64, error)) *supervise.Spare[pb.EncoderClient] {
	return &supervise.Spare[pb.EncoderClient]{
		Name: spareName,
		Configure: func(ctx context.Context, c pb.EncoderClient) (uint64, error) {
			cfg := encoderConfig(m.state.Get())
			cfg.ReturnUrl = m.rtsp.PublishURL(programPath)
			cfg.Standby = true
			// With "auto" the spare follows the active encoder's backend:
			// it opens libx264 at once, a hardware codec only when promoted.
			cfg.ActiveBackend = m.encoderStatus.Load().GetBackend()
			st, err := c.Configure(ctx, cfg)
			if err == nil {
				m.spareStatus.Store(st)
			}
			return st.GetAppliedRevision(), err
		},
		Promote: func(ctx context.Context, c pb.EncoderClient) (uint64, error) {
			m.spareStatus.Store(nil)
			return promote(ctx, c)
		},
		Ping: func(ctx context.Context, c pb.EncoderClient) error {
			st, err := c.Status(ctx, &pb.StatusRequest{})
			if err == nil {
				m.spareStatus.Store(st)
			}
			return err
		},
	}
}

// childNote says what a child's state leaves out: a spare whose hardware
// codec opens only when it is promoted.
func (m *Master) childNote(s supervise.Snapshot) string {
	if s.Name == spareName && s.State == supervise.Standby {
		st := m.spareStatus.Load()
		switch {
		case st.GetError() != "":
			return "not ready: " + st.GetError()
		case st.GetCodecDeferred():
			return "hardware codec opens when promoted"
		case st.GetBackend() != "":
			return st.GetBackend() + " open, silent"
		}
	}
	return ""
}
