package output

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"
)

// checkAnswer says, in words, why a WHIP server's body cannot be the answer
// to OnAir's offer: not SDP, no accepted video, or no ICE credentials or
// DTLS fingerprint to connect with. pion checks the rest when it applies it.
func checkAnswer(body []byte) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(body)); err != nil {
		return fmt.Errorf("not SDP (%v)", err)
	}
	_, sessionUfrag := d.Attribute("ice-ufrag")
	_, sessionFingerprint := d.Attribute("fingerprint")
	video := false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := m.Attribute("ice-ufrag"); !ok && !sessionUfrag {
			return errors.New("the video has no ICE credentials (ice-ufrag)")
		}
		if _, ok := m.Attribute("fingerprint"); !ok && !sessionFingerprint {
			return errors.New("the video has no DTLS fingerprint")
		}
		video = true
	}
	if !video {
		return errors.New("the server accepted no video")
	}
	return nil
}
