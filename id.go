package assent

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case. Its characters are
// in ascending ASCII order, so ids sort as the bytes they encode.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a new opaque id: prefix, then 26 characters encoding 48 bits
// of the time in milliseconds and 80 random bits. Ids of one prefix sort by
// creation time, which keeps cursor pages stable and lists "oldest first":
// within one process exactly (an id made in the same millisecond as the
// last one follows it), across processes to the millisecond.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	lastID.Lock()
	defer lastID.Unlock()
	if bytes.Compare(b[:], lastID.b[:]) <= 0 {
		b = lastID.b
		for i := len(b) - 1; i >= 0; i-- { // add one, big-endian
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	lastID.b = b
	return prefix + encode32(b[:])
}

// lastID is the last id NewID made, without its prefix.
var lastID struct {
	sync.Mutex
	b [16]byte
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
