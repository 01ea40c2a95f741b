package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/media/jobrun"
)

// slack is room beside a job's media for the MP4's header and sound.
const slack = 4 << 20

// Plan turns a job into a run, after reading its input: a cut must lie
// inside the input, and the disk must have room for the outputs.
func Plan(kind jobs.Kind, p jobs.Params, output string) (jobrun.Spec, error) {
	info, err := jobrun.Probe(p.Input)
	if err != nil {
		return jobrun.Spec{}, fmt.Errorf("%s job: input: %w", kind, err)
	}
	st, err := os.Stat(p.Input)
	if err != nil {
		return jobrun.Spec{}, fmt.Errorf("%s job: input: %w", kind, err)
	}
	length := info.Duration.Seconds()
	spec := jobrun.Spec{Input: p.Input, Threads: runtime.NumCPU()}
	need := int64(slack)
	switch kind {
	case jobs.Remux:
		spec.Outputs = []jobrun.Output{{Path: output}}
		need += st.Size()
	case jobs.Trim:
		if err := p.CheckSpan(length); err != nil {
			return jobrun.Spec{}, err
		}
		spec.Start, spec.End = p.Start, p.End
		spec.Outputs = []jobrun.Output{{Path: output, Width: info.Width, Height: info.Height, Preset: DefaultPreset}}
		if length > 0 {
			need += int64(float64(st.Size()) * (p.End - p.Start) / length)
		}
	case jobs.Transcode, jobs.Vertical:
		rs := p.Renditions
		if kind == jobs.Vertical {
			spec.Vertical = true
			if len(rs) == 0 {
				w, h := VerticalSize(info.Width, info.Height)
				rs = []jobs.Rendition{{Width: w, Height: h}}
			}
		}
		if len(rs) > jobrun.MaxOutputs {
			return jobrun.Spec{}, fmt.Errorf("%s job: renditions: %d, at most %d", kind, len(rs), jobrun.MaxOutputs)
		}
		for i, r := range rs {
			preset := r.Preset
			if preset == "" {
				preset = DefaultPreset
			}
			spec.Outputs = append(spec.Outputs, jobrun.Output{Path: jobs.RenditionPath(output, i, r),
				Width: r.Width, Height: r.Height, Kbps: r.BitrateKbps, Preset: preset})
			need += int64(float64(kbps(r)) * 1000 / 8 * length)
		}
	default:
		return jobrun.Spec{}, fmt.Errorf("the worker does no %q jobs", kind)
	}
	if err := jobs.CheckSpace(filepath.Dir(output), need); err != nil {
		return jobrun.Spec{}, fmt.Errorf("%s job: %w", kind, err)
	}
	return spec, nil
}

// kbps is a rendition's bitrate for the disk estimate: as asked, or about
// what x264's default quality gives (plus the sound).
func kbps(r jobs.Rendition) int {
	if r.BitrateKbps > 0 {
		return r.BitrateKbps + 192
	}
	return r.Width*r.Height/300 + 192
}

// VerticalSize is the largest centred 9:16 picture inside w×h, even sided.
func VerticalSize(w, h int) (int, int) {
	cw, ch := (h*9/16)&^1, h&^1
	if cw > w {
		cw, ch = w&^1, (w*16/9)&^1
	}
	return cw, ch
}
