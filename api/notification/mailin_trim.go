package notification

import (
	"regexp"
	"strings"
)

// The lines where a reply's own text ends: the attribution line above a
// quote ("On … wrote:" as Gmail, Thunderbird and Apple Mail write it, in a
// few languages), Outlook's header block and separators, a signature
// delimiter, and the sign-offs phones add.
var (
	attribution = regexp.MustCompile(`(?i)^(on\b.*\bwrote:?|am\b.*\bschrieb.*:|le\b.*\ba écrit ?:|el\b.*\bescribió:?|op\b.*\bschreef.*:)\s*$`)
	// attributionStart is the first line of an attribution a client
	// wrapped over two lines (Gmail does at 78 characters).
	attributionStart = regexp.MustCompile(`(?i)^on\b.*\d`)
	outlookSeparator = regexp.MustCompile(`(?i)^(-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}|_{10,})\s*$`)
	outlookHeader    = regexp.MustCompile(`(?i)^\*?(from|von|de):\*?\s.+`)
	outlookSent      = regexp.MustCompile(`(?i)^\*?(sent|gesendet|envoyé|date):\*?\s.+`)
	phoneSignoff     = regexp.MustCompile(`(?i)^(sent from my \w+|sent from (outlook|mail) for \w+|get outlook for \w+|von meinem \w+ gesendet)`)
)

// TrimReply returns the new text of a reply: the lines above the quoted
// history and the signature, without trailing blank lines. A message that
// is nothing but a quote keeps its text, so that no comment is empty.
func TrimReply(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	cut := len(lines)
scan:
	for i, line := range lines {
		l := strings.TrimSpace(line)
		switch {
		case line == "-- " || l == "--" || l == "—":
			cut = i
			break scan
		case strings.HasPrefix(l, ">"):
			// A quote block starts here; an attribution line may stand right above.
			cut = i
			if j := lastNonBlank(lines, i); j >= 0 && strings.HasSuffix(strings.TrimSpace(lines[j]), ":") {
				cut = j
				if j > 0 && attributionStart.MatchString(strings.TrimSpace(lines[j-1])) && !strings.Contains(lines[j], "On ") {
					cut = j - 1
				}
			}
			break scan
		case attribution.MatchString(l):
			cut = i
			break scan
		case attributionStart.MatchString(l) && i+1 < len(lines) && attribution.MatchString("on "+strings.TrimSpace(lines[i+1])):
			cut = i
			break scan
		case outlookSeparator.MatchString(l):
			cut = i
			break scan
		case outlookHeader.MatchString(l) && i+1 < len(lines) && outlookSent.MatchString(strings.TrimSpace(lines[i+1])):
			cut = i
			break scan
		case phoneSignoff.MatchString(l):
			cut = i
			break scan
		}
	}
	out := strings.TrimSpace(strings.Join(lines[:cut], "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

// lastNonBlank returns the index of the last non-blank line before i, or -1.
func lastNonBlank(lines []string, i int) int {
	for j := i - 1; j >= 0; j-- {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}
