package rtmpwire

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// FLV video tag bodies (what an RTMP video message carries) for H.264.
const (
	flvKeyframe   = 1 << 4
	flvInterframe = 2 << 4
	flvCodecAVC   = 7

	avcSequenceHeader = 0
	avcNALU           = 1
	avcEndOfSequence  = 2
)

// AVCSequenceHeader is the video tag that carries the decoder configuration
// (AVCDecoderConfigurationRecord, ISO 14496-15 5.3.3.1) for sps and pps.
func AVCSequenceHeader(sps, pps []byte) ([]byte, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("invalid SPS: %w", err)
	}
	if len(pps) == 0 {
		return nil, fmt.Errorf("empty PPS")
	}
	// The record stores each length in 16 bits.
	if len(sps) > 0xffff || len(pps) > 0xffff {
		return nil, fmt.Errorf("SPS (%d bytes) or PPS (%d bytes) longer than 65535 bytes", len(sps), len(pps))
	}
	b := make([]byte, 0, 5+11+len(sps)+len(pps)+4)
	b = append(b, flvKeyframe|flvCodecAVC, avcSequenceHeader, 0, 0, 0)
	b = append(b,
		1,                      // configurationVersion
		sps[1], sps[2], sps[3], // profile, compatibility, level
		0xfc|3, // lengthSizeMinusOne: 4-byte NALU lengths
		0xe0|1, // one SPS
	)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1) // one PPS
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	b = append(b, pps...)
	switch s.ProfileIdc {
	case 66, 77, 88: // these profiles have no chroma/bit-depth extension
	default:
		b = append(b,
			0xfc|byte(s.ChromaFormatIdc),
			0xf8|byte(s.BitDepthLumaMinus8),
			0xf8|byte(s.BitDepthChromaMinus8),
			0, // no SPS extensions
		)
	}
	return b, nil
}

// AVCEndOfSequence is the video tag that tells a player the stream ended.
func AVCEndOfSequence() []byte {
	return []byte{flvKeyframe | flvCodecAVC, avcEndOfSequence, 0, 0, 0}
}

// AVCFrame is the video tag for one access unit in AVCC form (4-byte lengths),
// with the composition time offset cts (PTS - DTS). Access unit delimiters
// are left out: FLV has its own framing.
func AVCFrame(au [][]byte, key bool, cts time.Duration) []byte {
	size := 5
	for _, n := range au {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) != h264.NALUTypeAccessUnitDelimiter {
			size += 4 + len(n)
		}
	}
	b := make([]byte, 5, size)
	b[0] = flvInterframe | flvCodecAVC
	if key {
		b[0] = flvKeyframe | flvCodecAVC
	}
	b[1] = avcNALU
	// The field is a signed 24-bit number of milliseconds.
	c := min(max(cts.Milliseconds(), 0), 1<<23-1)
	b[2], b[3], b[4] = byte(c>>16), byte(c>>8), byte(c)
	for _, n := range au {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) != h264.NALUTypeAccessUnitDelimiter {
			b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
			b = append(b, n...)
		}
	}
	return b
}

// VideoTag says what a video tag body is: a keyframe, and/or a sequence
// header (decoder configuration). It understands the classic FLV header and
// the enhanced-RTMP one (HEVC, AV1, VP9).
func VideoTag(b []byte) (key, seqHeader bool) {
	if len(b) == 0 {
		return false, false
	}
	if b[0]&0x80 != 0 { // enhanced RTMP: frame type, then packet type
		return (b[0]>>4)&7 == 1, b[0]&0x0f == 0
	}
	key = b[0]>>4 == 1
	codec := b[0] & 0x0f
	seqHeader = len(b) > 1 && (codec == flvCodecAVC || codec == 12) && b[1] == avcSequenceHeader
	return key, seqHeader
}

// AudioSequenceHeader reports whether an audio tag body is an AAC sequence
// header (AudioSpecificConfig).
func AudioSequenceHeader(b []byte) bool {
	return len(b) > 1 && b[0]>>4 == 10 && b[1] == 0
}

// FLV audio tag bodies for AAC: the first byte says SoundFormat 10 (AAC),
// 44 kHz, 16-bit, stereo, which the FLV spec requires for AAC whatever the
// stream's real rate and channels (those are in the AudioSpecificConfig).
const (
	flvAAC            = 10<<4 | 3<<2 | 1<<1 | 1
	aacSequenceHeader = 0
	aacRaw            = 1
)

// AACSequenceHeader is the audio tag that carries the decoder configuration
// (the AudioSpecificConfig, ISO 14496-3 1.6.2.1).
func AACSequenceHeader(asc []byte) []byte {
	return append([]byte{flvAAC, aacSequenceHeader}, asc...)
}

// AACFrame is the audio tag for one raw AAC access unit.
func AACFrame(au []byte) []byte {
	return append([]byte{flvAAC, aacRaw}, au...)
}
