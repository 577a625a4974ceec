/// The dashboard's one stylesheet (`style.css`). Outcome colours: PASS green, FAIL red,
/// TIMEOUT orange, BUILD-FAIL dark red, INFRA grey, SKIP light grey, FLAKY yellow; text on
/// each chosen for contrast.
enum DashboardStyle {
    static let css = """
        :root { --fg: #1d2330; --muted: #5d6678; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; --link: #1f5fbf; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--link); text-decoration: none; }
        a:hover { text-decoration: underline; }
        header { display: flex; gap: 18px; align-items: baseline; padding: 10px 24px; background: #1d2330; color: #cfd5e1; }
        header a { color: #fff; }
        header .brand { font-weight: 700; font-size: 17px; letter-spacing: .02em; }
        header .sep { color: #7d8699; }
        main { padding: 18px 24px 32px; max-width: 1500px; }
        footer { padding: 12px 24px; color: var(--muted); font-size: 12px; }
        h1 { font-size: 21px; margin: 0 0 4px; }
        h2 { font-size: 16px; margin: 26px 0 8px; }
        .sub { color: var(--muted); margin: 0 0 14px; }
        .meta { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 10px 0 6px; color: var(--muted); }
        .meta b { color: var(--fg); font-weight: 600; }
        code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        table { border-collapse: collapse; background: var(--card); }
        th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
        th { background: #eef0f4; font-weight: 600; }
        table.list { width: 100%; }
        table.list td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .badge { display: inline-block; min-width: 46px; padding: 1px 7px; border-radius: 4px; font-size: 11.5px; font-weight: 700; text-align: center; letter-spacing: .02em; }
        .pills .badge { margin-right: 4px; }
        .o-pass { background: #2e9e4f; color: #fff; }
        .o-fail { background: #d93a3a; color: #fff; }
        .o-timeout { background: #f08c1a; color: #1d1300; }
        .o-build-fail { background: #7a1010; color: #fff; }
        .o-infra { background: #808897; color: #fff; }
        .o-skip { background: #d9dde4; color: #3b4250; }
        .o-flaky { background: #f3cf2f; color: #2b2300; }
        .grid th.axis { background: #e6e9ef; }
        .grid th.row { background: var(--card); font-weight: 500; white-space: nowrap; }
        .grid th.row small, .grid td small { display: block; color: var(--muted); font-weight: 400; }
        .grid td.cell { padding: 0; min-width: 92px; text-align: center; }
        .grid td.cell a { display: block; padding: 7px 6px; color: inherit; font-weight: 700; }
        .grid td.cell a:hover { text-decoration: none; filter: brightness(1.08); }
        .grid td.cell small { color: inherit; opacity: .85; font-weight: 400; font-size: 11px; }
        .grid td.flagged a { box-shadow: inset 0 0 0 3px #1d2330; }
        .grid td.empty { background: repeating-linear-gradient(45deg, #fafbfc, #fafbfc 5px, #f0f2f5 5px, #f0f2f5 10px); }
        .legend { margin: 8px 0 0; color: var(--muted); }
        .legend .badge { margin: 0 3px 0 10px; }
        .findings { list-style: none; padding: 0; margin: 0; }
        .findings li { background: var(--card); border: 1px solid var(--line); border-left: 5px solid #d93a3a; padding: 8px 12px; margin: 0 0 8px; border-radius: 3px; }
        .findings li.k-fixed { border-left-color: #2e9e4f; }
        .findings li.k-flaky { border-left-color: #f3cf2f; }
        .findings li.k-slower { border-left-color: #e07b00; }
        .findings li.k-faster { border-left-color: #2b7bb9; }
        .findings li.k-infra, .findings li.k-other, .findings li.k-known { border-left-color: #808897; }
        .findings .known { font-weight: bold; margin-right: 6px; }
        .findings .bisect { margin-top: 4px; }
        table.steps tr.culprit td { background: #fde8e8; }
        .findings .triage { font-size: 0.85em; margin-top: 4px; color: #4a5568; }
        .findings .kind { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin-right: 8px; }
        .findings pre { margin: 6px 0 0; }
        pre { background: #10141c; color: #dfe4ee; padding: 10px 12px; overflow-x: auto; border-radius: 4px; margin: 0; }
        pre.log .n { color: #6c768a; user-select: none; display: inline-block; min-width: 5ch; text-align: right; margin-right: 1.5ch; }
        pre.log .hit { background: #5b1a1a; display: inline-block; width: 100%; }
        .verdict { display: flex; gap: 14px; align-items: center; background: var(--card); border: 1px solid var(--line); padding: 12px 14px; border-radius: 4px; }
        .verdict .badge { font-size: 15px; padding: 4px 12px; }
        .verdict .why { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; word-break: break-word; }
        .pruned { display: inline-block; background: #eceef2; color: var(--muted); border: 1px dashed #b9bfca; padding: 1px 8px; border-radius: 4px; font-size: 12px; }
        .files a { margin-right: 16px; }
        .note { color: var(--muted); }
        .vmcs td.value { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
        details { margin: 6px 0; }
        summary { cursor: pointer; }
        """
}
