package jobs

import (
	"encoding/json"
	"testing"
)

// Whatever a client sends, parsing either refuses it with an error or
// gives parameters that pass their own check and survive a round trip
// through the database's JSON.
func FuzzParseParams(f *testing.F) {
	f.Add("transcode", []byte(`{"input":"a.mp4","renditions":[{"width":640,"height":360,"bitrate_kbps":800,"preset":"veryfast"}]}`))
	f.Add("trim", []byte(`{"input":"a.mp4","start":1.5,"end":9}`))
	f.Add("replay", []byte(`{"seconds":10,"output":"x.mp4"}`))
	f.Add("vertical", []byte(`{"input":"a.mp4","renditions":[{"width":1080,"height":1920}]}`))
	f.Add("zip", []byte(`{`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		p, err := ParseParams(Kind(kind), data)
		if err != nil {
			return
		}
		if err := p.Check(Kind(kind)); err != nil {
			t.Fatalf("accepted, then refused: %v", err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseParams(Kind(kind), b)
		if err != nil {
			t.Fatalf("round trip refused: %v", err)
		}
		if p.Input != q.Input || p.Start != q.Start || p.End != q.End || len(p.Renditions) != len(q.Renditions) {
			t.Fatalf("round trip changed %+v to %+v", p, q)
		}
	})
}
