package domain

import (
	"strings"
	"testing"
)

func TestCheckMedia(t *testing.T) {
	for _, tc := range []struct {
		t        MessageType
		mime     string
		size     int64
		animated bool
		want     string // "" for allowed, else part of the reason
	}{
		{TypeImage, "image/jpeg", 5 << 20, false, ""},
		{TypeImage, "image/png", 5<<20 + 1, false, "at most 5 MB"},
		{TypeImage, "image/gif", 10, false, "cannot be sent"},
		{TypeVideo, "video/mp4", 16 << 20, false, ""},
		{TypeVideo, "video/3gpp", 16<<20 + 1, false, "16 MB"},
		{TypeAudio, "audio/ogg; codecs=opus", 100, false, ""},
		{TypeAudio, "audio/ogg; codecs=vorbis", 100, false, "cannot be sent"},
		{TypeAudio, "audio/mpeg", 16<<20 + 1, false, "16 MB"},
		{TypeAudio, "video/mp4", 100, false, "sent as video, not audio"},
		{TypeDocument, "application/pdf", 100 << 20, false, ""},
		{TypeDocument, "application/pdf", 100<<20 + 1, false, "100 MB"},
		{TypeDocument, "image/jpeg", 100, false, "sent as image, not document"},
		{TypeSticker, "image/webp", 100 << 10, false, ""},
		{TypeSticker, "image/webp", 100<<10 + 1, false, "still sticker image/webp may be at most 100 KB"},
		{TypeSticker, "image/webp", 500 << 10, true, ""},
		{TypeSticker, "image/webp", 500<<10 + 1, true, "animated sticker image/webp may be at most 500 KB"},
		{TypeImage, "not a type", 1, false, "cannot be sent"},
	} {
		err := CheckMedia(tc.t, tc.mime, tc.size, tc.animated)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s %d: %v, want allowed", tc.t, tc.mime, tc.size, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s %d: %v, want %q", tc.t, tc.mime, tc.size, err, tc.want)
		}
	}
}

func TestWebPAnimated(t *testing.T) {
	head := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02")
	if !WebPAnimated(head) {
		t.Error("the animation flag was not seen")
	}
	head[20] = 0x10 // alpha only
	if WebPAnimated(head) {
		t.Error("a still image with alpha taken as animated")
	}
	if WebPAnimated([]byte("RIFF\x00\x00\x00\x00WEBPVP8 \x00")) || WebPAnimated(nil) {
		t.Error("a simple WebP taken as animated")
	}
}
