package domain

import (
	"bytes"
	"cmp"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Types of the events of media, published as wam.<tenant>.media.<…>. An
// upload through the API is stored and then announced (media.uploaded); a
// customer's file is announced by its webhook, downloaded by wam and then
// recorded stored or failed. The inbox projector applies them all to the
// media read model and to the message a file came with.
const (
	EventMediaUploaded = "media.uploaded" // MediaUploaded
	EventMediaStored   = "media.stored"   // MediaStored
	EventMediaFailed   = "media.failed"   // MediaFailed
)

// States of a media file in the read model. Failed and stored are final;
// stored wins over failed, because a stored file is there whatever an
// earlier attempt said (see MediaStatusRank).
const (
	MediaStatusPending = "pending" // announced, not downloaded yet
	MediaStatusStored  = "stored"  // in wam's object store, checked
	MediaStatusFailed  = "failed"  // never to be downloaded: too many failures, or not the file Meta announced
)

// MediaStatusRank orders the states: a state only moves to a higher rank,
// so replaying events in any batching gives the same state.
func MediaStatusRank(s string) int {
	switch s {
	case MediaStatusStored:
		return 2
	case MediaStatusFailed:
		return 1
	}
	return 0
}

// MediaUploaded is the body of media.uploaded: a file uploaded through the
// API, stored in the object store before the event was published.
type MediaUploaded struct {
	MediaID     uuid.UUID   `json:"media_id"`
	Type        MessageType `json:"type"` // the message type it may be sent as
	MimeType    string      `json:"mime_type"`
	Filename    string      `json:"filename,omitempty"`
	Size        int64       `json:"size"`
	SHA256      string      `json:"sha256"` // hex
	Animated    bool        `json:"animated,omitempty"`
	ActorUserID *uuid.UUID  `json:"actor_user_id,omitempty"`
	At          time.Time   `json:"at"`
}

// MediaStored is the body of media.stored: a customer's file downloaded,
// checked against the SHA-256 of its webhook and stored.
type MediaStored struct {
	MediaID  uuid.UUID `json:"media_id"`
	MimeType string    `json:"mime_type,omitempty"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"` // hex, of the stored bytes
	At       time.Time `json:"at"`
}

// MediaFailed is the body of media.failed: a customer's file given up on.
type MediaFailed struct {
	MediaID  uuid.UUID `json:"media_id"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

var nsMedia = uuid.MustParse("6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a04")

// MediaID is the id of the file that came with the inbound message wamid
// within tenant; uploads get a random one.
func MediaID(tenant, wamid string) uuid.UUID {
	return uuid.NewSHA1(nsMedia, []byte(tenant+"\x00"+wamid))
}

// Meta's limits on media files (upload and send).
const (
	MaxImageBytes           = 5 << 20
	MaxAudioVideoBytes      = 16 << 20
	MaxDocumentBytes        = 100 << 20
	MaxStickerBytes         = 100 << 10
	MaxAnimatedStickerBytes = 500 << 10
	// MaxMediaBytes is the largest file of any type.
	MaxMediaBytes = MaxDocumentBytes
)

// mediaMIME are the MIME types (without parameters) Meta takes, by the
// message type their files are sent as. Each MIME type belongs to one
// message type.
var mediaMIME = map[string]MessageType{
	"image/jpeg": TypeImage, "image/png": TypeImage,
	"video/mp4": TypeVideo, "video/3gpp": TypeVideo,
	"audio/aac": TypeAudio, "audio/amr": TypeAudio, "audio/mpeg": TypeAudio, "audio/mp4": TypeAudio, "audio/ogg": TypeAudio,
	"image/webp": TypeSticker,
	"text/plain": TypeDocument, "application/pdf": TypeDocument, "application/msword": TypeDocument,
	"application/vnd.ms-excel": TypeDocument, "application/vnd.ms-powerpoint": TypeDocument,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   TypeDocument,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         TypeDocument,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": TypeDocument,
}

// MediaTypeOf is the message type files of MIME type mimeType are sent as,
// and its MIME type without parameters; false when Meta takes no such file
// (audio/ogg must be Opus, so another codec named is refused).
func MediaTypeOf(mimeType string) (MessageType, string, bool) {
	base, params, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "", "", false
	}
	t, ok := mediaMIME[base]
	if ok && base == "audio/ogg" {
		if c := params["codecs"]; c != "" && !strings.EqualFold(c, "opus") {
			return "", base, false
		}
	}
	return t, base, ok
}

// MediaLimit is the largest file Meta takes for a message of type t (an
// animated sticker may be larger than a still one).
func MediaLimit(t MessageType, animated bool) int64 {
	switch t {
	case TypeImage:
		return MaxImageBytes
	case TypeAudio, TypeVideo:
		return MaxAudioVideoBytes
	case TypeSticker:
		if animated {
			return MaxAnimatedStickerBytes
		}
		return MaxStickerBytes
	}
	return MaxDocumentBytes
}

// CheckMedia says whether a file of mimeType and size may be sent in a
// message of type t: nil, or why not (for a message naming the field).
func CheckMedia(t MessageType, mimeType string, size int64, animated bool) error {
	mt, base, ok := MediaTypeOf(mimeType)
	switch {
	case !ok:
		return fmt.Errorf("%s files cannot be sent on WhatsApp", cmp.Or(base, "these"))
	case mt != t:
		return fmt.Errorf("a %s file is sent as %s, not %s", base, mt, t)
	case size > MediaLimit(t, animated):
		return fmt.Errorf("a %s %s may be at most %s; this one is %d bytes", describeMedia(t, animated), base, SizeText(MediaLimit(t, animated)), size)
	}
	return nil
}

func describeMedia(t MessageType, animated bool) string {
	if t == TypeSticker && animated {
		return "animated sticker"
	}
	if t == TypeSticker {
		return "still sticker"
	}
	return string(t)
}

// SizeText writes a byte count as Meta states its limits: 5 MB, 100 KB.
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// WebPAnimated reports whether head, the start of a WebP file, says the
// file is animated: an extended header (VP8X) with the animation flag.
func WebPAnimated(head []byte) bool {
	return len(head) >= 21 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:16], []byte("WEBPVP8X")) &&
		head[20]&0x02 != 0
}
