package diagnose

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
)

// lz4BlockMagic starts each block of the stream Spark's LZ4CompressionCodec
// writes: lz4-java's LZ4BlockOutputStream, not the lz4 frame format. A block
// is the magic, a token (method in the high nibble: 0x10 raw, 0x20 lz4), the
// compressed and original lengths and a checksum (little-endian int32s), then
// the data; a block of length 0 ends a stream, and Spark reads streams
// concatenated one after another.
var lz4BlockMagic = []byte("LZ4Block")

const (
	lz4BlockHeader = 8 + 1 + 4 + 4 + 4
	lz4MethodRaw   = 0x10
	lz4MethodLZ4   = 0x20
	lz4MaxBlock    = 32 << 20
)

type lz4BlockReader struct {
	r        io.Reader
	buf, out []byte
	pending  []byte
	err      error
}

func newLZ4BlockReader(r io.Reader) *lz4BlockReader { return &lz4BlockReader{r: r} }

func (l *lz4BlockReader) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.err = l.next()
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// next decodes one block into pending.
func (l *lz4BlockReader) next() error {
	var h [lz4BlockHeader]byte
	if _, err := io.ReadFull(l.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF // between streams: the end
		}
		return fmt.Errorf("lz4 block header: %w", err)
	}
	if string(h[:8]) != string(lz4BlockMagic) {
		return errors.New("lz4 block stream: bad magic")
	}
	method := h[8] & 0xF0
	clen := int(int32(binary.LittleEndian.Uint32(h[9:])))
	olen := int(int32(binary.LittleEndian.Uint32(h[13:])))
	if clen < 0 || olen < 0 || clen > lz4MaxBlock || olen > lz4MaxBlock {
		return fmt.Errorf("lz4 block stream: block lengths %d/%d out of range", clen, olen)
	}
	if olen == 0 {
		return nil // end of one stream; another may follow
	}
	if cap(l.buf) < clen {
		l.buf = make([]byte, clen)
	}
	data := l.buf[:clen]
	if _, err := io.ReadFull(l.r, data); err != nil {
		return fmt.Errorf("lz4 block data: %w", err)
	}
	switch method {
	case lz4MethodRaw:
		if clen != olen {
			return errors.New("lz4 block stream: raw block with two lengths")
		}
		l.pending = data
	case lz4MethodLZ4:
		if cap(l.out) < olen {
			l.out = make([]byte, olen)
		}
		n, err := lz4.UncompressBlock(data, l.out[:olen])
		if err != nil || n != olen {
			return fmt.Errorf("lz4 block stream: corrupt block (%d of %d bytes): %v", n, olen, err)
		}
		l.pending = l.out[:olen]
	default:
		return fmt.Errorf("lz4 block stream: unknown method %#x", method)
	}
	return nil
}
