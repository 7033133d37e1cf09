package codec

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Writer appends one stream of values to a byte buffer. A Writer is not safe for
// concurrent use; give each goroutine its own and share the Registry.
type Writer struct {
	reg   *Registry
	buf   []byte
	depth int
	// path is the field path being written (reflective serializers only) and
	// location the input of the record being written, for error messages.
	path     []string
	location string
}

// NewWriter returns a Writer that encodes with reg and appends to buf[:0], so a
// caller can hand back a previous buffer to reuse its capacity.
func NewWriter(reg *Registry, buf []byte) *Writer {
	return &Writer{reg: reg, buf: buf[:0]}
}

// Bytes returns the encoded stream. It aliases the Writer's buffer: it is valid
// until the next write after Reset.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset empties the stream, keeping the buffer's capacity.
func (w *Writer) Reset() {
	w.buf = w.buf[:0]
	w.depth = 0
	w.path, w.location = w.path[:0], ""
}

// WriteVarint writes v as an unsigned LEB128 varint.
func (w *Writer) WriteVarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

// WriteInt writes v zigzag-encoded, so small negative numbers stay short.
func (w *Writer) WriteInt(v int64) { w.buf = binary.AppendVarint(w.buf, v) }

// WriteString writes a length-prefixed string.
func (w *Writer) WriteString(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// WriteBytes writes b prefixed by len(b)+1, with 0 for a nil slice, as Kryo's
// array serializers do, so nil and empty survive a round trip distinctly.
func (w *Writer) WriteBytes(b []byte) {
	if b == nil {
		w.buf = append(w.buf, 0)
		return
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(b))+1)
	w.buf = append(w.buf, b...)
}

// WriteStrings writes a string slice with the same nil convention as WriteBytes.
func (w *Writer) WriteStrings(ss []string) {
	if ss == nil {
		w.buf = append(w.buf, 0)
		return
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(ss))+1)
	for _, s := range ss {
		w.WriteString(s)
	}
}

// WriteBool writes one byte, 1 for true.
func (w *Writer) WriteBool(b bool) {
	var c byte
	if b {
		c = 1
	}
	w.buf = append(w.buf, c)
}

// WriteFloat64 writes the IEEE 754 bits in 8 little-endian bytes.
func (w *Writer) WriteFloat64(f float64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(f))
}

// Reader decodes values from one byte slice. It checks every length against
// what is left and reports a short or corrupt buffer as an error, never a
// panic. A Reader is not safe for concurrent use.
type Reader struct {
	reg   *Registry
	data  []byte
	pos   int
	depth int
}

// NewReader returns a Reader that decodes data with reg. Values read from it
// never alias data.
func NewReader(reg *Registry, data []byte) *Reader {
	return &Reader{reg: reg, data: data}
}

// Remaining returns how many bytes are left unread.
func (r *Reader) Remaining() int { return len(r.data) - r.pos }

// need checks that n more bytes are available, reporting the last index a read
// of n bytes would touch when they are not.
func (r *Reader) need(n uint64) error {
	if n <= uint64(len(r.data)-r.pos) {
		return nil
	}
	last := uint64(r.pos) + n - 1
	if last < n-1 {
		last = math.MaxUint64
	}
	return errIndex(last, len(r.data))
}

// ReadVarint reads an unsigned varint.
func (r *Reader) ReadVarint() (uint64, error) {
	v, n := binary.Uvarint(r.data[r.pos:])
	if n == 0 {
		return 0, errIndex(uint64(len(r.data)), len(r.data))
	}
	if n < 0 {
		return 0, &Error{Kind: KindKryo, Msg: "malformed varint at index " + strconv.Itoa(r.pos)}
	}
	r.pos += n
	return v, nil
}

// ReadInt reads a zigzag-encoded varint.
func (r *Reader) ReadInt() (int64, error) {
	v, n := binary.Varint(r.data[r.pos:])
	if n == 0 {
		return 0, errIndex(uint64(len(r.data)), len(r.data))
	}
	if n < 0 {
		return 0, &Error{Kind: KindKryo, Msg: "malformed varint at index " + strconv.Itoa(r.pos)}
	}
	r.pos += n
	return v, nil
}

// ReadString reads a length-prefixed string.
func (r *Reader) ReadString() (string, error) {
	n, err := r.ReadVarint()
	if err != nil {
		return "", err
	}
	if err := r.need(n); err != nil {
		return "", err
	}
	s := string(r.data[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s, nil
}

// ReadBytes reads what WriteBytes wrote; the result is a copy.
func (r *Reader) ReadBytes() ([]byte, error) {
	n, err := r.readCount()
	if err != nil || n < 0 {
		return nil, err
	}
	if err := r.need(uint64(n)); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	copy(b, r.data[r.pos:])
	r.pos += n
	return b, nil
}

// ReadStrings reads what WriteStrings wrote.
func (r *Reader) ReadStrings() ([]string, error) {
	n, err := r.readCount()
	if err != nil || n < 0 {
		return nil, err
	}
	ss := make([]string, n)
	for i := range ss {
		if ss[i], err = r.ReadString(); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// readCount reads a len+1 prefix and returns the length, or -1 for nil. A count
// larger than the bytes left cannot be genuine (every element takes at least a
// byte), so it is refused before anything is allocated for it.
func (r *Reader) readCount() (int, error) {
	c, err := r.ReadVarint()
	if err != nil {
		return 0, err
	}
	if c == 0 {
		return -1, nil
	}
	if err := r.need(c - 1); err != nil {
		return 0, err
	}
	return int(c - 1), nil
}

// ReadBool reads one byte; only 1 is true, as in Kryo.
func (r *Reader) ReadBool() (bool, error) {
	if err := r.need(1); err != nil {
		return false, err
	}
	b := r.data[r.pos]
	r.pos++
	return b == 1, nil
}

// ReadFloat64 reads 8 little-endian bytes as IEEE 754 bits.
func (r *Reader) ReadFloat64() (float64, error) {
	if err := r.need(8); err != nil {
		return 0, err
	}
	u := binary.LittleEndian.Uint64(r.data[r.pos:])
	r.pos += 8
	return math.Float64frombits(u), nil
}
