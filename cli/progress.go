package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a job's progress: a bar with bytes, rate and ETA on a
// terminal, a plain line every few seconds otherwise (logs of Slurm
// prologs and init containers stay readable).
type progress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	last   time.Time
	every  time.Duration
	prefix string
}

func newProgress(w io.Writer, prefix string) *progress {
	p := &progress{w: w, every: 5 * time.Second, prefix: prefix}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(prefix),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// update shows done of total bytes; detail names bytes by source.
func (p *progress) update(done, total int64, detail string) {
	if p.bar != nil {
		if total > 0 && p.bar.GetMax64() != total {
			p.bar.ChangeMax64(total)
		}
		p.bar.Describe(p.prefix + " " + detail)
		_ = p.bar.Set64(done)
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "%s %s / %s (%.1f%%) %s\n", p.prefix, formatBytes(done), formatBytes(total), pct, detail)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
