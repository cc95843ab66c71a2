package server

import "testing"

func TestRichText(t *testing.T) {
	t.Parallel()
	en := localeFor("en")
	link := func(href, label string) string {
		return `<a href="` + href + `" target="_blank" rel="noopener noreferrer">` + label +
			`<span class="visually-hidden"> (opens in a new tab)</span></a>`
	}
	for _, tc := range []struct {
		name, in   string
		paragraphs bool
		want       string
	}{
		{"plain", "I agree", false, "I agree"},
		{"escaped", `<script>alert("x")</script> & co`, false, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co`},
		{"link", "See [the rules](https://example.com/r?a=1&b=2).", false, "See " + link("https://example.com/r?a=1&amp;b=2", "the rules") + "."},
		{"http link", "[x](http://example.com)", false, link("http://example.com", "x")},
		{"label escaped", `[<b>"bold"</b>](https://example.com)`, false, link("https://example.com", "&lt;b&gt;&#34;bold&#34;&lt;/b&gt;")},
		{"empty label", "[](https://example.com/a)", false, link("https://example.com/a", "https://example.com/a")},
		{"javascript", "[x](javascript:alert(1))", false, "[x](javascript:alert(1))"},
		{"data", "[x](data:text/html,hi)", false, "[x](data:text/html,hi)"},
		{"relative", "[x](/admin)", false, "[x](/admin)"},
		{"no host", "[x](https:///path)", false, "[x](https:///path)"},
		{"quote in target", `[x](https://e.com/"onmouseover="a)`, false, link("https://e.com/%22onmouseover=%22a", "x")},
		{"line break", "one\ntwo", false, "one<br>two"},
		{"paragraphs", "one\ntwo\n\n[three](https://e.com)\r\n\r\nfour", true,
			"<p>one<br>two</p><p>" + link("https://e.com", "three") + "</p><p>four</p>"},
	} {
		if got := string(richText(tc.in, en, tc.paragraphs)); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"I accept the [rules](https://e.com).": "I accept the rules.",
		"a  \n b":                              "a b",
		"0123456789abcdefghij0123456789abc":    "0123456789abcdefghij0123456789…",
		"éééééééééééééééééééééééééééééé": "éééééééééééééééééééééééééééééé",
	} {
		if got := plainText(in, 30); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ann@example.com":  "a•••@example.com",
		"élise@example.fr": "é•••@example.fr",
		"":                 "",
		"@example.com":     "",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
