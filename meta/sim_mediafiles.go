package meta

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// customerPhoto is a real JPEG, as a customer's camera would send: a small
// gradient in colours of the rng's choosing.
func customerPhoto(rng *rand.Rand) []byte {
	const w, h = 96, 72
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r0, g0, b0 := rng.IntN(256), rng.IntN(256), rng.IntN(256)
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(r0 + x), uint8(g0 + y), uint8(b0 + x + y), 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// customerVoiceNote is a real Ogg Opus file, as WhatsApp records voice
// notes (mono, 48 kHz), of seconds of silence.
func customerVoiceNote(seconds int) []byte {
	const serial, preSkip, samplesPerPacket, packetsPerSecond = 0x5741_4d31, 312, 960, 50
	var b bytes.Buffer
	head := []byte("OpusHead")
	head = append(head, 1, 1) // version, mono
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = binary.LittleEndian.AppendUint32(head, 48000)
	head = append(head, 0, 0, 0) // output gain, channel mapping family
	writeOggPage(&b, 0x02, 0, serial, 0, [][]byte{head})
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, 7)
	tags = append(tags, "wam-sim"...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	writeOggPage(&b, 0, 0, serial, 1, [][]byte{tags})
	silence := []byte{0xf8, 0xff, 0xfe} // one 20 ms CELT frame of silence
	granule := uint64(preSkip)
	for i := range seconds {
		packets := make([][]byte, packetsPerSecond)
		for j := range packets {
			packets[j] = silence
		}
		granule += samplesPerPacket * packetsPerSecond
		flags := byte(0)
		if i == seconds-1 {
			flags = 0x04 // end of stream
		}
		writeOggPage(&b, flags, granule, serial, uint32(2+i), packets)
	}
	return b.Bytes()
}

// writeOggPage writes one Ogg page (RFC 3533) holding packets.
func writeOggPage(b *bytes.Buffer, flags byte, granule uint64, serial, seq uint32, packets [][]byte) {
	var lacing []byte
	for _, p := range packets {
		n := len(p)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		lacing = append(lacing, byte(n))
	}
	page := append([]byte("OggS"), 0, flags)
	page = binary.LittleEndian.AppendUint64(page, granule)
	page = binary.LittleEndian.AppendUint32(page, serial)
	page = binary.LittleEndian.AppendUint32(page, seq)
	page = append(page, 0, 0, 0, 0, byte(len(lacing)))
	page = append(page, lacing...)
	for _, p := range packets {
		page = append(page, p...)
	}
	binary.LittleEndian.PutUint32(page[22:], oggChecksum(page))
	b.Write(page)
}

// oggCRC is the table of Ogg's CRC-32: polynomial 0x04c11db7, not
// reflected, no final xor.
var oggCRC = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x8000_0000 != 0 {
				r = r<<1 ^ 0x04c1_1db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggChecksum(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 ^ oggCRC[byte(c>>24)^x]
	}
	return c
}
