package testpeer

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// NginxOptions shape the nginx-rtmp server.
type NginxOptions struct {
	// Record makes the "live" application record every stream to RecordDir.
	Record bool
}

// Nginx is a running nginx-rtmp server with one application, "live".
type Nginx struct {
	Port      int
	Dir       string // prefix directory holding config and logs
	RecordDir string // where recordings go (Record option)
	conf      string
	proc      *Proc
}

// StartNginx starts nginx-rtmp on a free loopback port and stops it when the
// test ends. It runs as a single process (master_process off), so PID is the
// process that serves: SIGKILL or SIGSTOP on it takes the server down.
func StartNginx(t testing.TB, opts NginxOptions) *Nginx {
	t.Helper()
	Need(t, "nginx")
	if _, err := os.Stat(rtmpModule); err != nil {
		t.Skipf("nginx RTMP module is not installed (apt-get install libnginx-mod-rtmp): %v", err)
	}
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		n, errText := startNginx(t, opts)
		if n != nil {
			return n
		}
		lastErr = errText
	}
	t.Fatalf("nginx did not start: %s", lastErr)
	return nil
}

func startNginx(t testing.TB, opts NginxOptions) (*Nginx, string) {
	n := &Nginx{Port: FreePort(t), Dir: t.TempDir()}
	n.RecordDir = filepath.Join(n.Dir, "rec")
	if err := os.Mkdir(n.RecordDir, 0o777); err != nil {
		t.Fatal(err)
	}
	// A worker running as nobody must be able to write recordings.
	_ = os.Chmod(n.RecordDir, 0o777)
	record := ""
	if opts.Record {
		record = fmt.Sprintf("record all; record_path %s; record_unique on;", n.RecordDir)
	}
	// wait_video: a joining player gets nothing before the next keyframe,
	// so the picture is its first packet, as the readers need (without it
	// nginx sends the sound at once and the picture only from a keyframe).
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
error_log %s info;
pid %s;
events {}
rtmp {
    access_log %s;
    server {
        listen 127.0.0.1:%d;
        chunk_size 4096;
        application live { live on; wait_video on; %s }
    }
}
`, rtmpModule, n.ErrorLogPath(), filepath.Join(n.Dir, "nginx.pid"), n.AccessLogPath(), n.Port, record)
	confPath := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.conf = confPath
	if !n.run(t) {
		if !n.running() {
			return nil, n.proc.Output() + n.ErrorLog()
		}
		n.proc.Stop()
		return nil, "port did not open: " + n.ErrorLog()
	}
	return n, ""
}

// Restart starts the server again on the same port after it was stopped or
// killed, as a live server coming back.
func (n *Nginx) Restart(t testing.TB) {
	t.Helper()
	n.proc.Stop()
	if !n.run(t) {
		t.Fatalf("nginx did not come back: %s%s", n.proc.Output(), n.ErrorLog())
	}
}

// run starts the process and reports whether its port opened.
func (n *Nginx) run(t testing.TB) bool {
	n.proc = start(t, nil, "nginx", "-c", n.conf, "-p", n.Dir, "-e", n.ErrorLogPath())
	return Eventually(10*time.Second, func() bool {
		select {
		case <-n.proc.Done():
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", n.Addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		return false
	}) && n.running()
}

func (n *Nginx) running() bool {
	select {
	case <-n.proc.Done():
		return false
	default:
		return true
	}
}

// Addr is host:port.
func (n *Nginx) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.Port) }

// URL is rtmp://127.0.0.1:PORT/app/name.
func (n *Nginx) URL(app, name string) string {
	return fmt.Sprintf("rtmp://%s/%s/%s", n.Addr(), app, name)
}

// PID is the nginx process id.
func (n *Nginx) PID() int { return n.proc.PID() }

// Stop kills nginx; the test's cleanup does this too.
func (n *Nginx) Stop() { n.proc.Stop() }

// ErrorLogPath is nginx's error log (level info: one line per RTMP command).
func (n *Nginx) ErrorLogPath() string { return filepath.Join(n.Dir, "error.log") }

// AccessLogPath is the RTMP access log: one line per finished session.
func (n *Nginx) AccessLogPath() string { return filepath.Join(n.Dir, "access.log") }

// ErrorLog returns the error log's text.
func (n *Nginx) ErrorLog() string { return readText(n.ErrorLogPath()) }

// AccessLog returns the access log's text.
func (n *Nginx) AccessLog() string { return readText(n.AccessLogPath()) }

// Publishes counts publish commands nginx accepted for the stream name (one per
// publish session; logged when publishing starts).
func (n *Nginx) Publishes(name string) int {
	return countMatches(n.ErrorLog(), `publish: name='`+regexp.QuoteMeta(name)+`'`)
}

// Plays counts play commands for the stream name.
func (n *Nginx) Plays(name string) int {
	return countMatches(n.ErrorLog(), `play: name='`+regexp.QuoteMeta(name)+`'`)
}

// PublishSessions counts finished publish sessions in the access log (written
// when a session ends).
func (n *Nginx) PublishSessions(name string) int {
	return countMatches(n.AccessLog(), `PUBLISH "[^"]*" "`+regexp.QuoteMeta(name)+`"`)
}

// Recordings lists the recorded FLV files.
func (n *Nginx) Recordings() []string {
	m, _ := filepath.Glob(filepath.Join(n.RecordDir, "*.flv"))
	return m
}

func countMatches(text, expr string) int {
	return len(regexp.MustCompile(expr).FindAllStringIndex(text, -1))
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
