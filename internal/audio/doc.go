// Package audio is the encoder's audio engine: sources captured or made on
// the capture clock, a mixer with volume, mute, sync offset and meters, and
// an AAC-LC encoder. Everything inside runs at 48 kHz stereo.
//
// It uses the FFmpeg family the encoder already links for video (see
// internal/codec), through a few small cgo files:
//   - libavdevice's "pulse" input captures from PulseAudio, so there is no
//     second audio library to link, and device listing comes from the same
//     place (avdevice_list_input_sources);
//   - libswresample converts to 48 kHz float stereo and, with its timestamp
//     compensation (swr_next_pts, which stretches or squeezes through
//     swr_set_compensation), keeps a device whose clock runs a little fast
//     or slow locked to the capture clock, so audio never drifts away from
//     video however long the stream runs;
//   - libavcodec's native "aac" encoder, the only AAC encoder Debian's
//     FFmpeg has (no fdk-aac).
//
// Time: every sample has a place on the capture clock (Clock), the wall
// clock the video compositor stamps frames with, counted from the same
// start. Sample n of the mix plays at Clock.Start + n/48000 s.
//
// Ranges of the settings live in internal/audiolimits, which links no
// FFmpeg, so the master and the config can check them too.
package audio
