package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runMaster runs bin/master with env and returns its output and exit code.
func runMaster(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "master"), args...)
	// A race-built binary sleeps a second on exit unless told not to.
	cmd.Env = append(env, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// Every ctl command has --help with an example, answered without a
// master; exit codes tell usage errors (2), refusals (1) and no master (3)
// apart; flags take two dashes as well as one.
func TestCtlHelpAndExitCodes(t *testing.T) {
	t.Parallel()
	noMaster := append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	for _, c := range ctlCommandHelp {
		for _, args := range [][]string{{"ctl", c.name, "--help"}, {"ctl", "help", c.name}} {
			out, code := runMaster(t, noMaster, args...)
			if code != exitOK || !strings.Contains(out, "usage: master ctl "+c.name) || !strings.Contains(out, "example:\n  ") {
				t.Errorf("%v: exit %d\n%s", args, code, out)
			}
		}
	}
	if out, code := runMaster(t, noMaster, "ctl", "--help"); code != exitOK || !strings.Contains(out, "--token-file") || !strings.Contains(out, "Exit status") {
		t.Errorf("ctl --help: exit %d\n%s", code, out)
	}
	if out, code := runMaster(t, noMaster, "ctl", "--nosuchflag", "status"); code != exitUsage {
		t.Errorf("an unknown flag: exit %d, want %d\n%s", code, exitUsage, out)
	}
	if out, code := runMaster(t, noMaster, "ctl", "status"); code != exitUnreachable || !strings.Contains(out, "no local master") {
		t.Errorf("no master on this machine: exit %d, want %d\n%s", code, exitUnreachable, out)
	}
	withToken := append(noMaster, "ONAIR_TOKEN=x")
	if out, code := runMaster(t, withToken, "ctl", "--addr", "127.0.0.1:1", "--timeout", "2s", "status"); code != exitUnreachable {
		t.Errorf("a master that does not answer: exit %d, want %d\n%s", code, exitUnreachable, out)
	}

	m := startMaster(t, nil, "-children", "plugins")
	if out, code := runMaster(t, m.Env, "ctl", "restart", "nosuchchild"); code != exitRefused {
		t.Errorf("a refused command: exit %d, want %d\n%s", code, exitRefused, out)
	}
	if out, code := runMaster(t, m.Env, "ctl", "--timeout", "5s", "bitrate", "many"); code != exitUsage {
		t.Errorf("a malformed argument: exit %d, want %d\n%s", code, exitUsage, out)
	}
	if out, code := runMaster(t, m.Env, "ctl", "--timeout=5s", "status"); code != exitOK || !strings.Contains(out, "pluginhost") {
		t.Errorf("--timeout=5s status: exit %d\n%s", code, out)
	}
}

// The bash completion script completes ctl's commands and their words.
func TestShellCompletion(t *testing.T) {
	t.Parallel()
	env := os.Environ()
	script, code := runMaster(t, env, "completion", "bash")
	if code != exitOK {
		t.Fatalf("completion bash: exit %d\n%s", code, script)
	}
	complete := func(words ...string) string {
		t.Helper()
		prog := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" +
			itoa(len(words)-1) + "\n_onair_master\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("master", "ctl", "sta"); got != "status start" {
		t.Errorf("master ctl sta<TAB>: %q", got)
	}
	if got := complete("master", "ctl", "--addr", "h:1", "restart", "enc"); got != "encoder" {
		t.Errorf("master ctl --addr h:1 restart enc<TAB>: %q", got)
	}
	if got := complete("master", "comp"); got != "completion" {
		t.Errorf("master comp<TAB>: %q", got)
	}
	zsh, code := runMaster(t, env, "completion", "zsh")
	if code != exitOK || !strings.Contains(zsh, "bashcompinit") || !strings.Contains(zsh, "complete -F _onair_master master") {
		t.Errorf("completion zsh: exit %d\n%s", code, zsh)
	}
	if _, code := runMaster(t, env, "completion", "fish"); code != exitUsage {
		t.Errorf("completion fish: exit %d, want %d", code, exitUsage)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
