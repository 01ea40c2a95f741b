// Package locale keeps fyne quiet about the C.UTF-8 locale, the usual one
// on servers and in containers. fyne reads the locale in a package init and
// logs an error for it (no language tag names "C"), so every run of a
// program that links fyne would print that error, headless runs and `ctl`
// output included.
//
// Go initializes packages in import-path order as soon as their imports
// are; this package imports only what fyne's locale code already needs, and
// its path sorts before golang.org/x/text, so it runs first. It names
// English for message translations, and only in that case.
package locale

import (
	"os"
	"strings"
)

func init() {
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		base, _, _ := strings.Cut(v, ".")
		if (base == "C" || base == "POSIX") && v != base && os.Getenv("LANGUAGE") == "" {
			os.Setenv("LANGUAGE", "en")
		}
		return
	}
}
