package assent

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case. Its characters are
// in ascending ASCII order, so ids sort as the bytes they encode.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a new opaque id: prefix, then 26 characters encoding 48 bits
// of the time in milliseconds and 80 random bits. Ids of one prefix sort by
// creation time (to the millisecond), which keeps cursor pages stable.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + encode32(b[:])
}

// RandomToken returns a random secret of n bytes in base32 (lower case).
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return encode32(b)
}

func encode32(b []byte) string {
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, crockford[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		out = append(out, crockford[(acc<<(5-bits))&31])
	}
	return string(out)
}
