package dashboard

import "html/template"

// templates are the pages. Links and form actions are relative, so that
// the dashboard works wherever it is mounted.
var templates = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>lockstep · {{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.5rem;align-items:baseline}
header a{color:#c9d3e6;text-decoration:none}header a:hover{color:#fff}
header strong{font-size:1.05rem}
main{padding:1.2rem 1.5rem;max-width:1100px}
h1{font-size:1.25rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e6e8ee;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.help{color:#6b7385}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:.8rem}
.chart{background:#fff;padding:.6rem .8rem;box-shadow:0 1px 2px #0001}
.chart .t{display:flex;justify-content:space-between}.chart .v{font-weight:600}
.chart svg{display:block;margin-top:.3rem;background:#fafbfc}
.axis{display:flex;justify-content:space-between;font-size:.85em}
.msg{background:#e7f5ea;border:1px solid #b6dfc0;padding:.5rem .8rem;margin-bottom:1rem}
.err{background:#fdecea;border:1px solid #f3b8b0;padding:.5rem .8rem;margin-bottom:1rem}
.owner{display:flex;justify-content:space-between;align-items:center;margin-top:1.3rem}
.owner h2{margin:0}
button{font:inherit;padding:.25rem .7rem;border:1px solid #8a93a6;background:#fff;color:#1d2330;cursor:pointer;border-radius:3px}
button.danger{border-color:#b3261e;color:#b3261e}
button.danger:hover{background:#b3261e;color:#fff}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
.held{color:#1f7a3a;font-weight:600}
form.inline{display:inline}
input[type=text]{font:inherit;padding:.2rem .4rem}
</style></head><body>
<header><strong>lockstep</strong><a href="./">overview</a><a href="sessions">sessions</a><span class="help">store: {{.Store}}</span></header>
<main>
{{with .Message}}<div class="msg" role="status">{{.}}</div>{{end}}
{{with .Error}}<div class="err" role="alert">{{.}}</div>{{end}}
{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "overview"}}{{template "head" .}}
<h1>Overview</h1>
{{with .Data}}
{{if .Charts}}<h2>Last {{.Window}}</h2>
<div class="charts">{{range .Charts}}
<div class="chart"><div class="t"><span>{{.Title}}</span><span class="v">{{.Last}}</span></div>
<svg width="100%" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" preserveAspectRatio="none" role="img" aria-label="{{.Title}}, at most {{.Max}}">
<polygon fill="#2f6fdb22" stroke="none" points="0,{{.Height}} {{.Points}} {{.Width}},{{.Height}}"/>
<polyline fill="none" stroke="#2f6fdb" stroke-width="1.5" vector-effect="non-scaling-stroke" points="{{.Points}}"/></svg>
<div class="axis help"><span>{{$.Data.Window}} ago</span><span>max {{.Max}}</span><span>now</span></div></div>{{end}}
</div>
{{else}}<p class="help">No charts: give the engine a dashboard.Recorder's Observer and pass it in Config.Recorder.</p>{{end}}
<h2>Counters since start</h2>
<table><tr><th>counter</th><th>value</th><th>what</th></tr>
{{range .Counters}}<tr><td>{{.Name}}</td><td class="num">{{.Value}}</td><td class="help">{{.Help}}</td></tr>{{end}}
</table>
{{end}}
{{template "foot"}}{{end}}

{{define "sessions"}}{{template "head" .}}
<h1>Sessions by owner</h1>
{{with .Data}}
<form method="get" action="sessions"><label>owner <input type="text" name="owner" value="{{.Owner}}"></label> <button type="submit">filter</button></form>
<p class="help">{{.Listed}} session{{if ne .Listed 1}}s{{end}}{{if .Truncated}} (the first ones only){{end}}. "held": an engine has the session in memory and its lock.</p>
{{range .Owners}}
<div class="owner"><h2>{{if .Owner}}{{.Owner}}{{else}}<span class="help">no owner</span>{{end}}</h2>
{{if .Owner}}<form method="post" action="revoke" class="inline"><input type="hidden" name="owner" value="{{.Owner}}"><button type="submit" class="danger">revoke owner</button></form>{{end}}</div>
<table><tr><th>session key</th><th>created</th><th>expires</th><th>size</th><th>held</th><th></th></tr>
{{range .Sessions}}<tr><td><a href="session?key={{.Key}}"><code>{{.Short}}</code></a></td><td>{{.Created}}</td><td>{{.Expires}}</td><td class="num">{{.Bytes}}</td><td>{{if .Held}}<span class="held">held</span>{{end}}</td>
<td><form method="post" action="remove" class="inline"><input type="hidden" name="key" value="{{.Key}}"><button type="submit" class="danger">remove session</button></form></td></tr>{{end}}
</table>
{{else}}<p>No stored sessions{{if .Owner}} of this owner{{end}}.</p>{{end}}
{{end}}
{{template "foot"}}{{end}}

{{define "session"}}{{template "head" .}}
{{with .Data}}
<h1>Session <code>{{.Key}}</code></h1>
<table>
<tr><th>owner</th><td>{{if .Owner}}{{.Owner}}{{else}}<span class="help">none</span>{{end}}</td></tr>
<tr><th>created</th><td>{{.Created}}</td></tr>
<tr><th>expires</th><td>{{.Expires}}</td></tr>
<tr><th>size</th><td>{{.Bytes}}</td></tr>
<tr><th>held</th><td>{{if .Held}}<span class="held">held by an engine</span>{{else}}no{{end}}</td></tr>
</table>
<h2>Values</h2>
{{if .Values}}<table><tr><th>name</th><th>type</th>{{if .ShowValues}}<th>value</th>{{end}}</tr>
{{range .Values}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Type}}</code></td>{{if $.Data.ShowValues}}<td><code>{{.Value}}</code></td>{{end}}</tr>{{end}}
</table>{{else}}<p class="help">none</p>{{end}}
{{if not .ShowValues}}<p class="help">Values are hidden (dashboard.Config.ShowValues).</p>{{end}}
<p><form method="post" action="remove"><input type="hidden" name="key" value="{{.Key}}"><button type="submit" class="danger">remove session</button></form></p>
{{end}}
{{template "foot"}}{{end}}
`))
