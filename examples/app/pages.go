package main

import "html/template"

// layout is the frame of every page.
const layout = `{{define "top"}}<!doctype html>
<html lang=en>
<meta charset=utf-8>
<meta name=viewport content="width=device-width">
<title>lockstep example</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42em;margin:2em auto;padding:0 1em}
#flash{background:#e6f4ea;padding:.5em 1em;border-radius:4px}
form{display:inline}td,th{padding:0 1em 0 0;text-align:left}</style>
<nav><a href=/>home</a> · <a href=/session>this session</a> · <a href=/debug/vars>/debug/vars</a></nav>
{{end}}`

var homePage = template.Must(template.Must(template.New("home").Parse(layout)).Parse(`{{template "top"}}
{{with .Flash}}<p id=flash role=status>{{.}}</p>{{end}}
<h1>Visit <span id=visits>{{.Visits}}</span></h1>
<p>Every page view counts, and so do these buttons, which call
<code>POST /visits</code> with <code>fetch()</code>, all at once:
<button id=one type=button>+1</button> <button id=burst type=button>+20 at once</button>
<span id=result></span></p>
{{if .User}}<p>Logged in as <b id=user>{{.User}}</b>.
<form method=post action=/logout><button id=logout>Log out</button></form>
<form method=post action=/logout-everywhere><button id=logout-everywhere>Log out everywhere</button></form>
<form method=post action=/password><button id=password>I changed my password</button></form></p>
{{else}}<form method=post action=/login><input id=name name=user placeholder=name required maxlength=64>
<button id=login>Log in</button></form>
{{end}}
<p>Open <a href=/slow target=_blank>/slow</a> in two tabs at once: it works outside the
session's turn (Explicit locking), so both finish after one period of work.
<a href=/slow-implicit target=_blank>/slow-implicit</a> holds the turn (Implicit locking),
so the second waits for the first.</p>
<script>
// increment fires n POST /visits at once and resolves to the counter
// values they answered, sorted: with no update lost, n consecutive numbers.
async function increment(n) {
	const answers = await Promise.all(Array.from({length: n}, async () => {
		const r = await fetch("/visits", {method: "POST"});
		if (!r.ok) throw new Error("POST /visits: " + r.status);
		return (await r.json()).visits;
	}));
	answers.sort((a, b) => a - b);
	document.getElementById("visits").textContent = answers[answers.length - 1];
	document.getElementById("result").textContent = n + " answered " + answers.join(" ");
	return answers;
}
document.getElementById("one").onclick = () => increment(1);
document.getElementById("burst").onclick = () => increment(20);
</script>
`))

var sessionValuesPage = template.Must(template.Must(template.New("session").Parse(layout)).Parse(`{{template "top"}}
<h1>This session</h1>
{{if .ID}}<p>ID <code>{{.ID}}</code>{{with .Owner}}, owner <b id=owner>{{.}}</b>{{end}}</p>
<table id=values><tr><th>key<th>type<th>value
{{range .Values}}<tr><td>{{.Key}}<td><code>{{.Type}}</code><td>{{.Value}}
{{end}}</table>
{{else}}<p id=none>No session: nothing has been stored yet.</p>
{{end}}
`))
