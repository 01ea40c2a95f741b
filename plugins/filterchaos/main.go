// Command filterchaos is an OnAir filter plugin that misbehaves on command,
// to show (and test) that a filter can never make a frame late: mode=pass
// leaves frames as they are, mode=slow sleeps delay on every frame, and
// mode=fail refuses every frame.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/onair-studio/onair/plugins/sdk"
)

var info = sdk.Info{
	Name: "filterchaos", Version: "1.0.0", Kind: sdk.KindFilter, Formats: []string{sdk.FormatRGBA},
	Description: "A filter that passes frames through, sleeps on each, or fails each, on command.",
	Params: []sdk.Param{
		{Name: "mode", Type: sdk.TypeString, Default: "pass", Choices: []string{"pass", "slow", "fail"},
			Description: "pass: change nothing; slow: sleep delay per frame, then invert it; fail: refuse every frame"},
		{Name: "delay", Type: sdk.TypeDuration, Default: "1s", Description: "how long slow sleeps per frame"},
	},
}

type chaos struct {
	sdk.Base
	mode  string
	delay time.Duration
}

func (*chaos) Info() sdk.Info { return info }

func (c *chaos) Configure(_ context.Context, p map[string]string) error {
	c.mode = p["mode"]
	c.delay, _ = time.ParseDuration(p["delay"])
	return nil
}

func (c *chaos) Filter(_ context.Context, f *sdk.FilterFrame) error {
	switch c.mode {
	case "slow":
		time.Sleep(c.delay)
		pix := f.RGBA.Pix
		for i := 0; i < len(pix); i += 4 { // visible, were it ever shown
			pix[i], pix[i+1], pix[i+2] = pix[i+3]-pix[i], pix[i+3]-pix[i+1], pix[i+3]-pix[i+2]
		}
	case "fail":
		return errors.New("refusing the frame, as asked")
	}
	return nil
}

func main() { sdk.Serve(&chaos{}) }
