/** @module Page Styles — the one stylesheet both pages inline (nonce'd), so a page paints after one round trip. */

// Contrast (WCAG 2.1 AA, 4.5:1 for text): #1b1f24 on #fff 16:1, #4a5360 on #fff 7.6:1, white on #0b57d0 6.6:1,
// #b3261e on #fff 6.4:1, #5c3b00 on #fff4e5 9.9:1. Dark scheme: #e8eaed on #1b1f24 13:1, #0b1a33 on #8ab4f8 8.4:1.
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#f4f6f8;--card:#fff;--text:#1b1f24;--muted:#4a5360;--line:#d5dae0;
--primary:#0b57d0;--on-primary:#fff;--danger:#b3261e;--ok:#146c2e;--warn-bg:#fff4e5;--warn-text:#5c3b00;--warn-line:#b26a00;
--alert-bg:#fce8e6;--alert-text:#7a1c15;--alert-line:#b3261e;--focus:#0b57d0}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b1f24;--text:#e8eaed;--muted:#b0b8c1;--line:#3a414a;
--primary:#8ab4f8;--on-primary:#0b1a33;--danger:#f2b8b5;--ok:#6dd58c;--warn-bg:#3a2a00;--warn-text:#ffdf99;--warn-line:#e0a100;
--alert-bg:#410e0b;--alert-text:#f9dedc;--alert-line:#f2b8b5;--focus:#8ab4f8}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;
display:flex;flex-direction:column;align-items:center;padding:24px 16px}
main{width:100%;max-width:880px;background:var(--card);border:1px solid var(--line);border-radius:16px;padding:24px}
.narrow main{max-width:480px}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 12px}
h2{font-size:1.15rem;margin:20px 0 8px}
p{margin:0 0 12px}
.muted{color:var(--muted)}
.brand{font-weight:600;color:var(--muted);margin:0 0 16px;font-size:.95rem;letter-spacing:.02em}
[hidden]{display:none!important}
a{color:var(--primary)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
[tabindex="-1"]:focus{outline:none}
button,input{font:inherit}
button{min-height:44px;padding:10px 18px;border-radius:10px;border:1px solid var(--line);background:var(--card);color:var(--text);cursor:pointer;font-weight:600}
button.primary{background:var(--primary);border-color:var(--primary);color:var(--on-primary)}
button.danger{color:var(--danger);border-color:var(--danger)}
button.link{min-height:0;padding:0;border:0;background:none;color:var(--primary);text-decoration:underline;font-weight:400}
button:disabled{opacity:.6;cursor:progress}
.actions{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0 0}
.actions.split>button{flex:1 1 140px}
.actions.center{justify-content:center}
.actions:not(:has(>:not([hidden]))){display:none}
label{display:block;font-weight:600;margin:12px 0 4px}
input{width:100%;min-height:44px;padding:10px 12px;border:1px solid var(--muted);border-radius:10px;background:var(--card);color:var(--text)}
.field-error{color:var(--danger);margin:4px 0 0;font-size:.95rem}
.form-error{color:var(--danger);margin:12px 0 0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;word-break:break-all}
.login{display:grid;gap:24px 40px;grid-template-columns:1fr;align-items:center}
@media (min-width:760px){.login{grid-template-columns:auto 1fr}}
.qr-col{display:flex;flex-direction:column;align-items:center;gap:8px}
.qr-box{position:relative;background:#fff;border-radius:12px;padding:8px;border:1px solid var(--line);line-height:0;min-width:200px;min-height:200px;display:flex;align-items:center;justify-content:center}
.qr-box svg{display:block;max-width:100%;height:auto}
.qr-box.dim svg{opacity:.12}
.qr-box .placeholder{line-height:1.5;color:#4a5360;padding:24px;text-align:center}
.qr-overlay{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;line-height:1.4;text-align:center;padding:16px;color:#1b1f24;font-weight:600;
background:rgba(255,255,255,.9);border-radius:12px;overflow-wrap:anywhere}
.check{width:56px;height:56px;border-radius:50%;background:#146c2e;color:#fff;display:flex;align-items:center;justify-content:center;font-size:32px;margin:0 0 8px}
.check-code{border:2px solid var(--primary);border-radius:12px;padding:12px 16px;margin:0 0 16px}
.check-line{font-size:1.25rem;font-weight:600;line-height:1.3;margin:0 0 4px}
.code-row{display:flex;gap:12px;align-items:stretch;margin:8px 0}
.code-input{width:6ch;font-size:2rem;font-variant-numeric:tabular-nums;letter-spacing:.15em;text-align:center;padding:6px 8px}
.code-show{font-size:3.5rem;font-weight:700;line-height:1.1;letter-spacing:.12em;font-variant-numeric:tabular-nums;text-align:center;margin:4px 0 8px}
.big-code{display:inline-block;font-size:2.75rem;line-height:1.1;letter-spacing:.08em;font-variant-numeric:tabular-nums;padding:0 .15em;vertical-align:middle}
.actions.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.actions.pair>button{min-height:56px;font-size:1.15rem}
.code-box{border:2px solid var(--primary);border-radius:12px;padding:8px 12px;margin:0 0 12px;text-align:center}
.code-title{margin:0;font-weight:600}
.requester{display:flex;flex-direction:column;margin:0 0 4px}
.requester>span:first-child{font-weight:600}
.countdown{font-variant-numeric:tabular-nums;color:var(--muted);margin:0;line-height:1.5}
.steps{margin:0 0 16px;padding-left:1.4em}
.steps li{margin:0 0 6px}
.status{font-weight:600;margin:16px 0 0;min-height:1.5em}
.status.live::before{content:"";display:inline-block;width:10px;height:10px;border-radius:50%;background:var(--ok);margin-right:8px}
.status.offline::before{content:"";display:inline-block;width:10px;height:10px;border-radius:50%;background:var(--warn-line);margin-right:8px}
.notice{border-left:4px solid var(--warn-line);background:var(--warn-bg);color:var(--warn-text);padding:12px 14px;border-radius:8px;margin:16px 0 0}
.notice.alert{border-left-color:var(--alert-line);background:var(--alert-bg);color:var(--alert-text)}
.notice strong{display:block;margin:0 0 4px}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:8px 16px;margin:16px 0 0}
dl.details dt{color:var(--muted)}
dl.details dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.who{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline;color:var(--muted);margin:0 0 16px}
.result{text-align:center;padding:8px 0}
.result .check{margin:0 auto 12px}
.result .cross{background:var(--danger);color:var(--card)}
.result dl.details{max-width:420px;margin:16px auto 0;text-align:left}
.field-hint{margin:0 0 4px;font-size:.92rem}
.switch{margin:20px 0 0}
footer{margin:16px 0 0;color:var(--muted);font-size:.9rem;text-align:center}
@media (max-width:420px){body{padding:12px 8px}main{padding:18px 16px;border-radius:12px}h1{font-size:1.3rem}
.check-code{padding:12px}.check-line{font-size:1.1rem}.check-line .big-code{font-size:2.5rem}}
@media (prefers-reduced-motion:no-preference){.qr-box svg{transition:opacity .2s}}
`;
