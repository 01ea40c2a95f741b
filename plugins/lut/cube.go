package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxCubeSize bounds LUT_3D_SIZE: 129³ entries are 26 MB of float32,
// already more than any grading tool writes (17, 33 and 65 are usual).
const maxCubeSize = 129

// Cube is a 3D colour lookup table from a .cube file: Size³ RGB entries,
// red changing fastest, for inputs from DomainMin to DomainMax.
type Cube struct {
	Title                string
	Size                 int
	DomainMin, DomainMax [3]float32
	Table                [][3]float32
}

// ParseCube reads a .cube file (Adobe/Resolve 3D LUT). name prefixes every
// error with the line it is about: "NAME:LINE: what is wrong".
func ParseCube(name string, r io.Reader) (*Cube, error) {
	c := &Cube{DomainMax: [3]float32{1, 1, 1}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	line := 0
	bad := func(format string, a ...any) (*Cube, error) {
		return nil, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Fields(text)
		switch key := fields[0]; {
		case key == "TITLE":
			c.Title = strings.Trim(strings.TrimSpace(strings.TrimPrefix(text, "TITLE")), `"`)
		case key == "LUT_1D_SIZE":
			return bad("a 1D LUT: this filter applies 3D LUTs (LUT_3D_SIZE)")
		case key == "LUT_3D_SIZE":
			if c.Size != 0 {
				return bad("LUT_3D_SIZE given twice")
			}
			n, err := strconv.Atoi(strings.Join(fields[1:], " "))
			if err != nil || n < 2 || n > maxCubeSize {
				return bad("LUT_3D_SIZE %q: want a whole number from 2 to %d", strings.Join(fields[1:], " "), maxCubeSize)
			}
			c.Size = n
			c.Table = make([][3]float32, 0, n*n*n)
		case key == "DOMAIN_MIN" || key == "DOMAIN_MAX":
			v, err := triple(fields[1:])
			if err != nil {
				return bad("%s: %v", key, err)
			}
			if key == "DOMAIN_MIN" {
				c.DomainMin = v
			} else {
				c.DomainMax = v
			}
		case isNumber(key):
			if c.Size == 0 {
				return bad("a table entry before LUT_3D_SIZE")
			}
			if len(c.Table) == cap(c.Table) {
				return bad("more than %d³ = %d table entries", c.Size, cap(c.Table))
			}
			v, err := triple(fields)
			if err != nil {
				return bad("%v", err)
			}
			c.Table = append(c.Table, v)
		default:
			return bad("unknown keyword %q", key)
		}
	}
	if err := sc.Err(); err != nil {
		line++
		return bad("%v", err)
	}
	switch {
	case c.Size == 0:
		return bad("no LUT_3D_SIZE: not a 3D .cube LUT")
	case len(c.Table) != cap(c.Table):
		return bad("%d table entries, want %d³ = %d", len(c.Table), c.Size, cap(c.Table))
	}
	for i := range 3 {
		if !(c.DomainMin[i] < c.DomainMax[i]) {
			return bad("DOMAIN_MIN %v is not below DOMAIN_MAX %v", c.DomainMin, c.DomainMax)
		}
	}
	return c, nil
}

func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] == '+' || s[0] == '.' || s[0] >= '0' && s[0] <= '9')
}

// triple reads three finite numbers.
func triple(fields []string) ([3]float32, error) {
	var v [3]float32
	if len(fields) != 3 {
		return v, fmt.Errorf("want 3 numbers, got %d (%q)", len(fields), strings.Join(fields, " "))
	}
	for i, f := range fields {
		x, err := strconv.ParseFloat(f, 32)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return v, fmt.Errorf("%q is not a finite number", f)
		}
		v[i] = float32(x)
	}
	return v, nil
}
