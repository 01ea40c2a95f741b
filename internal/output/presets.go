package output

import (
	"fmt"
	"strings"
)

// Services are the ingest servers of the big platforms, so a streamer needs
// only the stream key. All take RTMPS.
var Services = map[string]string{
	"twitch":   "rtmps://live.twitch.tv:443/app",
	"youtube":  "rtmps://a.rtmps.youtube.com:443/live2",
	"facebook": "rtmps://live-api-s.facebook.com:443/rtmp",
}

// DestinationURL joins a service's server (or a custom server URL) and a
// stream key kept apart from it. For a custom destination with no separate
// key, server is the whole URL, key included.
func DestinationURL(service, server, key string) (string, error) {
	if service != "" && service != "custom" {
		s, ok := Services[service]
		if !ok {
			return "", fmt.Errorf("unknown service %q (want twitch, youtube, facebook or custom)", service)
		}
		server = s
		if key == "" {
			return "", fmt.Errorf("%s needs a stream key", service)
		}
	}
	if server == "" {
		return "", fmt.Errorf("no URL")
	}
	if key == "" {
		return server, nil
	}
	return strings.TrimRight(server, "/") + "/" + key, nil
}
