package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andreykaipov/goobs"
	"github.com/andreykaipov/goobs/api/events"
	"github.com/andreykaipov/goobs/api/events/subscriptions"
	"github.com/andreykaipov/goobs/api/requests/inputs"
	"github.com/andreykaipov/goobs/api/requests/scenes"
	"github.com/gorilla/websocket"

	"github.com/onair-studio/onair/internal/obsserver"
	"github.com/onair-studio/onair/internal/obsws"
	"github.com/onair-studio/onair/internal/testpeer"
)

// startObsMaster runs a master streaming the test pattern to nginx, with
// its obs-websocket server on a free port; it returns the server's address
// and password.
func startObsMaster(t *testing.T, extra ...string) (*testpeer.Master, *testpeer.Nginx, string, string) {
	t.Helper()
	n := testpeer.StartNginx(t, testpeer.NginxOptions{})
	args := append([]string{"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180",
		"-dest", n.URL("live", "onair"), "-obs-websocket", "127.0.0.1:0"}, extra...)
	// Replays go to the recordings folder under HOME.
	m := startMaster(t, []string{"HOME=" + t.TempDir()}, args...)
	addrRE := regexp.MustCompile(`obs-websocket v5 server running.*addr=(\S+)`)
	var addr string
	m.Await("obs-websocket listening", 10*time.Second, func() bool {
		if s := addrRE.FindStringSubmatch(m.Out.String()); s != nil {
			addr = s[1]
		}
		return addr != ""
	})
	password := strings.TrimSpace(readFile(t, filepath.Join(m.ConfigHome, "onair", obsserver.PasswordFile)))
	if strings.Contains(m.Out.String(), password) {
		t.Fatal("the obs-websocket password is in the master's log")
	}
	return m, n, addr, password
}

func obsClient(t *testing.T, addr, password string, opts ...goobs.Option) *goobs.Client {
	t.Helper()
	c, err := goobs.New(addr, append([]goobs.Option{goobs.WithPassword(password)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect() })
	return c
}

// awaitEvent reads c's events until one satisfies ok.
func awaitEvent[E any](t *testing.T, c *goobs.Client, what string, ok func(E) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.IncomingEvents:
			if e, is := ev.(E); is && ok(e) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event", what)
		}
	}
}

// A third-party obs-websocket client (goobs) drives the studio: it needs
// the password, starts and stops the stream that nginx receives, reads the
// stream's status while live and gets the stream's events.
func TestObsWebSocketDrivesTheStudio(t *testing.T) {
	t.Parallel()
	m, n, addr, password := startObsMaster(t)
	// A client that never identifies is dropped after 10 s; it waits
	// while the rest of the test runs.
	idle := rawObs(t, addr)
	idleClosed := make(chan error, 1)
	go func() { _, _, err := idle.ReadMessage(); idleClosed <- err }()
	idleSince := time.Now()

	if _, err := goobs.New(addr, goobs.WithPassword("not-the-password")); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	c := obsClient(t, addr, password)
	v, err := c.General.GetVersion()
	if err != nil || v.RpcVersion != 1 || len(v.AvailableRequests) == 0 {
		t.Fatalf("GetVersion: %+v, %v", v, err)
	}

	if _, err := c.Stream.StartStream(); err != nil {
		t.Fatal(err)
	}
	awaitEvent(t, c, "StreamStateChanged (active)", func(e *events.StreamStateChanged) bool { return e.OutputActive })
	m.Await("nginx sees the publish", 15*time.Second, func() bool { return n.Publishes("onair") >= 1 })
	if _, err := c.Stream.StartStream(); err == nil || !strings.Contains(err.Error(), "(500)") {
		t.Errorf("starting a live stream again: %v, want the output-running status 500", err)
	}
	first, err := c.Stream.GetStreamStatus()
	if err != nil || !first.OutputActive {
		t.Fatalf("GetStreamStatus while live: %+v, %v", first, err)
	}
	m.Await("outputBytes rising", 10*time.Second, func() bool {
		s, err := c.Stream.GetStreamStatus()
		return err == nil && s.OutputActive && s.OutputBytes > first.OutputBytes && s.OutputTotalFrames > first.OutputTotalFrames
	})

	// The replay buffer saves the last seconds, as OBS's does.
	if _, err := c.Outputs.SaveReplayBuffer(); err != nil {
		t.Fatalf("SaveReplayBuffer while live: %v", err)
	}
	m.Await("the replay clip saved", 15*time.Second, func() bool {
		out, err := m.Ctl("jobs")
		return err == nil && strings.Contains(out, "replay") && strings.Contains(out, "done")
	})

	// Without a scenes: section the program is one scene, "Program".
	list, err := c.Scenes.GetSceneList()
	if err != nil || len(list.Scenes) != 1 || list.CurrentProgramSceneName != "Program" {
		t.Fatalf("GetSceneList: %+v, %v", list, err)
	}
	if _, err := c.Scenes.SetCurrentProgramScene(&scenes.SetCurrentProgramSceneParams{SceneName: ptr("Nope")}); err == nil ||
		!strings.Contains(err.Error(), "(600)") {
		t.Errorf("switching to a missing scene: %v, want resource-not-found 600", err)
	}

	// The inputs are the mixer's sources; a change goes through the
	// master's own audio settings, checked by the same rule as ctl's.
	in, err := c.Inputs.GetInputList()
	if err != nil || len(in.Inputs) == 0 {
		t.Fatalf("GetInputList: %+v, %v", in, err)
	}
	name := in.Inputs[0].InputName
	if _, err := c.Inputs.SetInputMute(&inputs.SetInputMuteParams{InputName: &name, InputMuted: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	awaitEvent(t, c, "InputMuteStateChanged", func(e *events.InputMuteStateChanged) bool { return e.InputName == name && e.InputMuted })
	if src := m.Status().GetAudioSettings().GetSources()[0]; !src.GetMuted() {
		t.Errorf("the master's audio settings do not show %s muted: %v", name, src)
	}
	_, err = c.Inputs.SetInputVolume(&inputs.SetInputVolumeParams{InputName: &name, InputVolumeDb: ptr(50.0)})
	if err == nil || !strings.Contains(err.Error(), "(402)") || !strings.Contains(err.Error(), "volume_db") {
		t.Errorf("a volume out of range: %v, want status 402 naming volume_db", err)
	}

	if _, err := c.Stream.StopStream(); err != nil {
		t.Fatal(err)
	}
	awaitEvent(t, c, "StreamStateChanged (stopped)", func(e *events.StreamStateChanged) bool {
		return !e.OutputActive && e.OutputState == obsws.OutputStopped
	})
	if m.Status().GetLive() {
		t.Error("the master is still live after StopStream")
	}

	select {
	case err := <-idleClosed:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != int(obsws.CloseNotIdentified) {
			t.Errorf("the client that never identified: %v, want close code %d", err, obsws.CloseNotIdentified)
		}
		if waited := time.Since(idleSince); waited < obsserver.AuthTimeout-time.Second {
			t.Errorf("dropped after %v, before the %v it is given", waited, obsserver.AuthTimeout)
		}
	case <-time.After(20 * time.Second):
		t.Error("a client that never identified is still connected")
	}
}

func ptr[T any](v T) *T { return &v }

// rawConn is a connection of the test's own to an obs-websocket server,
// with the challenge of its Hello.
type rawConn struct {
	*websocket.Conn
	auth obsws.Auth
}

// rawObs connects to an obs-websocket server and reads its Hello.
func rawObs(t *testing.T, addr string) rawConn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var hello struct {
		Op int         `json:"op"`
		D  obsws.Hello `json:"d"`
	}
	if err := conn.ReadJSON(&hello); err != nil || hello.Op != 0 || hello.D.Authentication == nil {
		t.Fatalf("hello: %+v, %v", hello, err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	return rawConn{conn, *hello.D.Authentication}
}

// identify authenticates a raw connection.
func identify(t *testing.T, conn rawConn, password string) {
	t.Helper()
	msg := map[string]any{"op": 1, "d": map[string]any{"rpcVersion": 1, "authentication": obsws.AuthString(password, conn.auth),
		"eventSubscriptions": subscriptions.All}}
	if err := conn.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	var ok struct{ Op int }
	if err := conn.ReadJSON(&ok); err != nil || ok.Op != 2 {
		t.Fatalf("identified: %+v, %v", ok, err)
	}
}

// Bad messages end only their own session, each with the protocol's close
// code; an unknown request is answered, not dropped; other clients carry on.
func TestObsWebSocketProtocolErrors(t *testing.T) {
	t.Parallel()
	_, _, addr, password := startObsMaster(t, "-children", "plugins")
	good := obsClient(t, addr, password)

	closedWith := func(conn rawConn) int {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return ce.Code
				}
				return -1
			}
		}
	}
	cases := []struct {
		name    string
		msg     string
		want    int
		identif bool
	}{
		{"malformed JSON", `{"op":6,"d":{`, int(obsws.CloseMessageDecodeError), true},
		{"unknown op code", `{"op":77,"d":{}}`, int(obsws.CloseUnknownOpCode), true},
		{"request before identifying", `{"op":6,"d":{"requestType":"GetVersion","requestId":"1"}}`, int(obsws.CloseNotIdentified), false},
		{"wrong password", `{"op":1,"d":{"rpcVersion":1,"authentication":"AAAA"}}`, int(obsws.CloseAuthenticationFailed), false},
		{"huge message", `{"op":6,"d":{"requestType":"GetVersion","requestId":"` + strings.Repeat("x", 2<<20) + `"}}`, websocket.CloseMessageTooBig, true},
	}
	for _, c := range cases {
		conn := rawObs(t, addr)
		if c.identif {
			identify(t, conn, password)
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte(c.msg)); err != nil {
			t.Fatal(err)
		}
		if got := closedWith(conn); got != c.want {
			t.Errorf("%s: closed with %d, want %d", c.name, got, c.want)
		}
	}

	conn := rawObs(t, addr)
	identify(t, conn, password)
	if err := conn.WriteJSON(map[string]any{"op": 6, "d": map[string]any{"requestType": "MakeCoffee", "requestId": "c1"}}); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Op int                   `json:"op"`
		D  obsws.RequestResponse `json:"d"`
	}
	if err := conn.ReadJSON(&resp); err != nil || resp.Op != 7 || resp.D.RequestID != "c1" ||
		resp.D.RequestStatus.Code != obsws.StatusUnknownRequestType {
		t.Fatalf("unknown request: %+v, %v", resp, err)
	}
	if _, err := good.General.GetVersion(); err != nil {
		t.Errorf("a well-behaved client was hurt by the others: %v", err)
	}
}

// A stream deck on obs-websocket sees the studio's real scenes and switches
// them: the viewer's decoded pixels change, and clients hear of the switch.
func TestObsWebSocketSwitchesScenes(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	m, n, addr, password := startObsMaster(t, "-config", cfg, "-live")
	c := obsClient(t, addr, password, goobs.WithEventSubscriptions(subscriptions.Scenes))
	list, err := c.Scenes.GetSceneList()
	if err != nil || len(list.Scenes) != 3 || list.CurrentProgramSceneName != "Starting soon" {
		t.Fatalf("GetSceneList: %+v, %v", list, err)
	}
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	viewer := testpeer.StartPixelReader(t, n.URL("live", "onair"), 32, 18)
	awaitPixel(t, m, viewer, "the first scene", time.Time{}, 16, 9, sceneRed)
	called := time.Now()
	if _, err := c.Scenes.SetCurrentProgramScene(&scenes.SetCurrentProgramSceneParams{SceneName: ptr("Game")}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the switched scene at the viewer", called, 16, 9, sceneBlue)
	awaitEvent(t, c, "CurrentProgramSceneChanged", func(e *events.CurrentProgramSceneChanged) bool { return e.SceneName == "Game" })
	if cur, err := c.Scenes.GetCurrentProgramScene(); err != nil || cur.SceneName != "Game" {
		t.Errorf("GetCurrentProgramScene: %+v, %v", cur, err)
	}

	// Studio mode: off, the preview requests say so; on, the deck previews
	// a scene, which viewers do not see until it triggers the transition.
	if _, err := c.Scenes.SetCurrentPreviewScene(&scenes.SetCurrentPreviewSceneParams{SceneName: ptr("Just chatting")}); err == nil ||
		!strings.Contains(err.Error(), "(506)") {
		t.Errorf("previewing with studio mode off: %v, want studio-mode-not-active 506", err)
	}
	if _, err := m.Ctl("scene", "preview", "Game"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scenes.SetCurrentPreviewScene(&scenes.SetCurrentPreviewSceneParams{SceneName: ptr("Just chatting")}); err != nil {
		t.Fatal(err)
	}
	if cur, err := c.Scenes.GetCurrentPreviewScene(); err != nil || cur.SceneName != "Just chatting" {
		t.Errorf("GetCurrentPreviewScene: %+v, %v", cur, err)
	}
	called = time.Now()
	if _, err := c.Transitions.TriggerStudioModeTransition(); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the previewed scene on air", called, 16, 9, sceneGreen)
	// The last scene event read, so none is in flight when the client
	// disconnects (goobs races a late event against its own close).
	awaitEvent(t, c, "CurrentProgramSceneChanged", func(e *events.CurrentProgramSceneChanged) bool { return e.SceneName == "Just chatting" })
}
