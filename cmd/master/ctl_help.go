package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes of `master` and `master ctl`.
const (
	exitOK          = 0
	exitRefused     = 1 // the master (or the system) said no
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // no master answered
)

// unreachableError is a master that could not be reached: exit status 3,
// so scripts can tell "not running" from "refused".
type unreachableError struct{ error }

func (e unreachableError) Unwrap() error { return e.error }

// asUnreachable marks an RPC error that means no master answered.
func asUnreachable(err error) error {
	if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
		return unreachableError{err}
	}
	return err
}

// ctlCommandHelp is each `master ctl` command's usage, what it does and an
// example; `master ctl COMMAND --help` prints it without asking a master,
// and shell completion offers the commands.
var ctlCommandHelp = []struct{ name, usage, what, example string }{
	{"status", "status [--json]", "the master, each child, destination and recording", "master ctl status --json | jq .live"},
	{"start", "start", "go live", "master ctl start"},
	{"stop", "stop", "go off air", "master ctl stop"},
	{"restart", "restart encoder|encoder-standby|pluginhost", "restart a child at once (also out of 'failed'; the spare is replaced)", "master ctl restart encoder"},
	{"reconnect", "reconnect N", "retry destination N (from status) now", "master ctl reconnect 0"},
	{"key", "key set NAME", "store destination NAME's stream key, read from stdin", "master ctl key set twitch < twitch.key"},
	{"dest", "dest add|edit N|rm N [--name N] [--service S] [--url URL] [--rendition R] [--key-stdin]",
		"add, replace or remove a destination (saved to the config file)", "master ctl dest add --service twitch --name twitch --key-stdin < twitch.key"},
	{"record", "record [--o FILE] [--rendition NAME] | record stop", "start or stop recording (crash-safe MP4)", "master ctl record --o show.mp4"},
	{"bitrate", "bitrate KBPS", "change the video bitrate live", "master ctl bitrate 6000"},
	{"snapshot", "snapshot [--o FILE] [--size WxH] [--format png|jpeg] [--preview]", "save the current program picture", "master ctl snapshot --o now.png --size 640x360"},
	{"monitor-url", "monitor-url [--ffconcat]", "the RTSP address (with password) to watch the program", monitorPlayer},
	{"audio", "audio [devices|volume|mute|unmute|offset|add|rm|bitrate ...]", "the sound: sources, strips and level, and changes to them", "master ctl audio volume mic -6"},
	{"plugin", "plugin list|restart NAME|set NAME key=value...|add NAME|rm NAME", "the plugins", "master ctl plugin set clock format=15:04"},
	{"filter", "filter list|add NAME [-binary FILE] [-layer LAYER] [key=value...]|rm NAME|move NAME POS|set NAME key=value...", "the filters on layers and the program", "master ctl filter add key -binary chromakey -layer cam similarity=0.3"},
	{"scene", "scene list|switch NAME [-transition cut|fade|slide] [-duration D]|add NAME|rm NAME|rename NAME NEW|preview NAME|off|transition|export FILE|import FILE", "the scenes, and the one on air", "master ctl scene switch BRB -transition fade -duration 500ms"},
}

// ctlHelp prints a command's help when args ask for it (COMMAND --help,
// COMMAND -h or help COMMAND), and reports whether it did.
func ctlHelp(args []string, out io.Writer) (bool, error) {
	name := ""
	switch {
	case len(args) >= 2 && args[0] == "help":
		name = args[1]
	case len(args) >= 2 && slices.ContainsFunc(args[1:], isHelpFlag):
		name = args[0]
	default:
		return false, nil
	}
	for _, c := range ctlCommandHelp {
		if c.name == name {
			_, err := fmt.Fprintf(out, "usage: master ctl %s\n\n%s.\n\nexample:\n  %s\n", c.usage, c.what, c.example)
			return true, err
		}
	}
	return true, usageError{fmt.Errorf("no command %q; the commands: %s", name, strings.Join(ctlCommandNames(), ", "))}
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

func ctlCommandNames() []string {
	var names []string
	for _, c := range ctlCommandHelp {
		names = append(names, c.name)
	}
	return names
}

// printFlags lists a flag set's flags spelt with two dashes (one dash
// works too: both are the same flag).
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(fs.Output(), "%s\n    \t%s\n", line, usage)
	})
}

// completion prints a completion script for bash or zsh.
func completion(args []string, out io.Writer) error {
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return usageError{errors.New("usage: master completion bash|zsh\n  bash: source <(master completion bash)\n  zsh:  source <(master completion zsh)")}
	}
	script := strings.NewReplacer("@COMMANDS@", strings.Join(ctlCommandNames(), " ")).Replace(bashCompletion)
	if args[0] == "zsh" {
		script = "autoload -U +X bashcompinit && bashcompinit\n" + script
	}
	_, err := io.WriteString(out, script)
	return err
}

const bashCompletion = `# master completion: source <(master completion bash)
_onair_master() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "ctl attach plugin serve-rtmp completion --help" -- "$cur"))
    return
  fi
  case "${COMP_WORDS[1]}" in
  ctl)
    local i=2
    while [ $i -lt $COMP_CWORD ]; do
      case "${COMP_WORDS[i]}" in
      --addr|-addr|--token|-token|--token-file|-token-file|--fingerprint|-fingerprint|--timeout|-timeout) i=$((i+2)) ;;
      -*) i=$((i+1)) ;;
      *) break ;;
      esac
    done
    if [ $i -ge $COMP_CWORD ]; then
      COMPREPLY=($(compgen -W "@COMMANDS@ help --addr --token-file --fingerprint --timeout" -- "$cur"))
      return
    fi
    case "${COMP_WORDS[i]}" in
    restart) COMPREPLY=($(compgen -W "encoder pluginhost --help" -- "$cur")) ;;
    dest) COMPREPLY=($(compgen -W "add edit rm --name --service --url --rendition --key-stdin --help" -- "$cur")) ;;
    audio) COMPREPLY=($(compgen -W "devices volume mute unmute offset add rm bitrate help" -- "$cur")) ;;
    plugin) COMPREPLY=($(compgen -W "list restart set add rm help" -- "$cur")) ;;
    filter) COMPREPLY=($(compgen -W "list add rm move set help -binary -layer" -- "$cur")) ;;
    scene) COMPREPLY=($(compgen -W "list switch add rm rename preview transition export import help -transition -duration" -- "$cur")) ;;
    record) COMPREPLY=($(compgen -W "stop --o --rendition --help" -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W "@COMMANDS@" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
    esac
    ;;
  completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
  *) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -F _onair_master master
`
