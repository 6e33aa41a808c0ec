package main

import "html/template"

// layout is the frame of every page: the style, and a bar with the way
// back home and to the other pages.
const layout = `{{define "top"}}<!doctype html>
<html lang=en>
<meta charset=utf-8>
<meta name=viewport content="width=device-width">
<title>{{.}} · lockstep example</title>
<style>
:root{--ink:#1d2433;--mute:#5b6475;--line:#dde2ea;--soft:#f4f6f9;--blue:#2563eb;--green:#15803d;--wait:#c3c9d4}
*{box-sizing:border-box}
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;background:#fff}
header{background:var(--ink);color:#fff}
header div,main{max-width:46rem;margin:0 auto;padding:0 1.25rem}
header div{display:flex;gap:1.25rem;align-items:baseline;padding-top:.7rem;padding-bottom:.7rem}
header b{margin-right:auto;letter-spacing:.02em}
header a{color:#c9d5ff;text-decoration:none}header a:hover{color:#fff;text-decoration:underline}
main{padding-top:1.25rem;padding-bottom:3rem}
h1{font-size:1.6rem;margin:.4rem 0 1rem}h2{font-size:1.15rem;margin:1.8rem 0 .5rem}section h2{margin-top:.5rem}
a{color:var(--blue)}
section{border:1px solid var(--line);border-radius:10px;padding:.4rem 1.1rem .8rem;margin:1.1rem 0}
p{margin:.6rem 0}.mute{color:var(--mute);font-size:.92rem}
button{font:inherit;font-size:.95rem;padding:.35rem .9rem;border:1px solid var(--blue);border-radius:6px;background:var(--blue);color:#fff;cursor:pointer}
button.plain{background:#fff;color:var(--blue)}button:hover{filter:brightness(1.1)}
input{font:inherit;padding:.3rem .6rem;border:1px solid var(--line);border-radius:6px}
form{display:inline}
code,pre{font:.9em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);border-radius:4px}
code{padding:.1em .3em;white-space:nowrap}pre{padding:.6rem .8rem;border:1px solid var(--line);white-space:pre-wrap;word-break:break-all}
pre.cmd{user-select:all}pre.cmd::before{content:"$ ";color:var(--mute)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line)}
th{font-weight:600;color:var(--mute);font-size:.9rem}
#flash{background:#e7f6ec;border:1px solid #b7e1c4;padding:.5rem 1rem;border-radius:8px}
#visits{color:var(--blue)}
.lanes{display:grid;grid-template-columns:7rem 1fr;gap:.35rem .8rem;align-items:center;margin:.6rem 0;padding-right:3.2rem}
.lanes .mode{grid-column:1/-1;margin-top:.6rem;font-weight:600}
.lane{position:relative;height:1.5rem;background:var(--soft);border-radius:4px}
.lane span{position:absolute;top:0;bottom:0;border-radius:4px}
.wait{background:repeating-linear-gradient(135deg,var(--wait) 0 6px,#e3e7ed 6px 12px)}
.work{background:var(--blue)}.held{background:var(--green)}
.lane em{position:absolute;top:0;left:calc(100% + .4rem);font-style:normal;font-size:.85rem;color:var(--mute);white-space:nowrap}
.legend span{display:inline-block;width:.9rem;height:.9rem;border-radius:3px;vertical-align:-.1rem;margin:0 .3rem 0 1.2rem}
.legend span:first-child{margin-left:0}
</style>
<header><div><b>lockstep example</b><a href=/>home</a><a href=/session>this session</a><a href=/slow>locking modes</a></div></header>
<main>
{{end}}`

var homePage = template.Must(template.Must(template.New("home").Parse(layout)).Parse(`{{template "top" "Home"}}
{{with .Flash}}<p id=flash role=status>{{.}}</p>{{end}}
<h1>Visit <span id=visits>{{.Visits}}</span></h1>
<section>
<h2>No update lost</h2>
<p>Every page view counts, and so do these buttons, which call
<code>POST /visits</code> with <code>fetch()</code>, all at once:</p>
<p><button id=one type=button>+1</button> <button id=burst type=button>+20 at once</button></p>
<p id=result class=mute></p>
</section>
<section>
<h2>Login</h2>
{{if .User}}<p>Logged in as <b id=user>{{.User}}</b>.</p>
<p><form method=post action=/logout><button id=logout class=plain>Log out</button></form>
<form method=post action=/logout-everywhere><button id=logout-everywhere class=plain>Log out everywhere</button></form>
<form method=post action=/password><button id=password class=plain>I changed my password</button></form></p>
<p class=mute>The <a href=/admin/>dashboard</a> lists the stored sessions, and revokes them.</p>
{{else}}<p><form method=post action=/login><input id=name name=user placeholder=name required maxlength=64>
<button id=login>Log in</button></form></p>
<p class=mute>Logging in gives the session a new ID, and makes you its owner.</p>
{{end}}</section>
<section>
<h2>Locking modes</h2>
<p><a href=/slow>Explicit</a>: a slow request holds the session only inside <code>Do</code>,
so two of them overlap. <a href=/slow-implicit>Implicit</a>: it holds the session until it
returns, so the second waits for the first. <a href=/slow>See both side by side.</a></p>
</section>
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

var sessionValuesPage = template.Must(template.Must(template.New("session").Parse(layout)).Parse(`{{template "top" "This session"}}
<h1>This session</h1>
{{if .ID}}<p>ID <code>{{.ID}}</code>{{with .Owner}}, owner <b id=owner>{{.}}</b>{{end}}</p>
<table id=values><tr><th>key<th>type<th>value
{{range .Values}}<tr><td>{{.Key}}<td><code>{{.Type}}</code><td>{{.Value}}
{{end}}</table>
<h2>On the server</h2>
<p>The store keeps it under its key, the SHA-256 of the ID, which names the session
without being the secret:</p>
<pre id=key>{{.Key}}</pre>
<p>To see the stored record, with the
<a href="https://pkg.go.dev/github.com/lockstep-go/lockstep/cmd/lockstep">lockstep command</a>:</p>
<pre id=show class=cmd>{{.Show}}</pre>
<p class=mute>Install it with <code>go install github.com/lockstep-go/lockstep/cmd/lockstep@latest</code>,
or put <code>go run github.com/lockstep-go/lockstep/cmd/lockstep@latest</code> in place of <code>lockstep</code>.</p>
{{else}}<p id=none>No session: nothing has been stored yet. <a href=/>Home</a> stores a visit.</p>
{{end}}
`))

// errorPage says what went wrong, with the way back.
var errorPage = template.Must(template.Must(template.New("error").Parse(layout)).Parse(`{{template "top" "Sorry"}}
<h1>Sorry</h1>
<p id=error>{{.}}</p>
<p><a href=/>Back home</a></p>
`))

// slowPage shows one slow request's result, and then, drawn by its script,
// two requests at once in each locking mode on a common time scale.
var slowPage = template.Must(template.Must(template.New("slow").Parse(layout)).Parse(`{{template "top" "Locking modes"}}
<h1>Locking modes</h1>
<p id=run>This page was a slow request with <b>{{.Mode}}</b> locking: slow run {{.Runs}}
{{- with .User}} for <b>{{.}}</b>{{end}}, {{.Took}} for {{.Work}} of work.
The other mode: <a href={{if eq .Mode "Explicit"}}/slow-implicit{{else}}/slow{{end}}>{{if eq .Mode "Explicit"}}Implicit{{else}}Explicit{{end}}</a>.</p>
<section>
<h2>Two requests at once, in each mode</h2>
<p>Each request reads the session, works for {{.Work}}, then writes.
<b>Explicit</b> (<code>/slow</code>) holds the session only inside <code>Do</code>:
the two overlap. <b>Implicit</b> (<code>/slow-implicit</code>) holds it until the handler
returns: the second waits for the first.</p>
<div id=lanes class=lanes>
<div class=mode>Explicit</div><div>request A</div><div class=lane id=explicit-a></div><div>request B</div><div class=lane id=explicit-b></div>
<div class=mode>Implicit</div><div>request A</div><div class=lane id=implicit-a></div><div>request B</div><div class=lane id=implicit-b></div>
</div>
<p class="legend mute"><span class=wait></span>waiting for the session<span class=held></span>holding it
<span class=work></span>working without it</p>
<p><button id=again type=button class=plain>Run again</button> <span id=status class=mute></span></p>
</section>
<script>
// pair sends two requests to path at once; each answers when its turn
// began and when its work began and ended (ms after it arrived). Their
// URLs differ: a browser holds back a GET until the same URL's answer
// shows whether it can be cached.
async function pair(path) {
	const t0 = performance.now();
	return Promise.all([0, 1].map(async i => {
		const r = await fetch(path + "?json&request=" + i, {cache: "no-store"});
		if (!r.ok) throw new Error(path + ": " + r.status);
		const s = await r.json();
		return {...s, end: performance.now() - t0};
	}));
}

// draw puts a request's spans in lane, on a scale of total ms: waiting for
// the turn, then holding the session; with Explicit locking, the work in
// between does not hold it.
function draw(lane, s, total) {
	const pct = ms => (100 * ms / total).toFixed(2) + "%";
	const span = (cls, from, to) => '<span class=' + cls + ' style="left:' + pct(from) + ';width:' + pct(Math.max(to - from, total / 150)) + '"></span>';
	const wait = s.turn > total / 300 ? span("wait", 0, s.turn) : "";
	let spans = wait + span("held", s.turn, s.end);
	if (s.mode == "Explicit") spans = span("work", s.work, s.worked) + wait + span("held", s.turn, s.work) + span("held", s.worked, s.end);
	lane.innerHTML = spans + "<em>" + (s.end / 1000).toFixed(2) + " s</em>";
}

// compare runs a pair in each mode, one mode after the other, and draws them.
async function compare() {
	const status = document.getElementById("status");
	status.textContent = "running…";
	const explicit = await pair("/slow");
	const implicit = await pair("/slow-implicit");
	const total = Math.max(...explicit.concat(implicit).map(s => s.end)) * 1.08;
	const byEnd = (a, b) => a.end - b.end;
	explicit.sort(byEnd); implicit.sort(byEnd);
	draw(document.getElementById("explicit-a"), explicit[0], total);
	draw(document.getElementById("explicit-b"), explicit[1], total);
	draw(document.getElementById("implicit-a"), implicit[0], total);
	draw(document.getElementById("implicit-b"), implicit[1], total);
	status.textContent = "";
	document.body.dataset.compared = "yes";
}
document.getElementById("again").onclick = compare;
compare();
</script>
`))
