//! Drawing: name colours, NO_COLOR, odd sizes, and the 100k-line frame benchmark.

use super::*;

#[test]
fn names_keep_their_colours() {
    assert_eq!(view::name_color("bob"), view::name_color("BOB"));
    let colours: std::collections::HashSet<_> = ["ace", "bob", "carol", "dave", "erin", "frank"]
        .iter()
        .map(|n| format!("{:?}", view::name_color(n)))
        .collect();
    assert!(colours.len() >= 3, "{colours:?}");
}

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// With 100 000 lines of scrollback the screen still shows the newest
/// lines live and others when scrolled; and, as a benchmark, the time to
/// draw a frame, live and scrolled, and the memory the lines take. See the
/// figures with `cargo nextest run -p chat-client --no-capture
/// frame_time_with_100k` (add `--release` for release numbers). It asserts
/// no speed.
#[test]
fn bench_frame_time_with_100k_lines() {
    let before = rss_kib();
    let mut app = app_with(Vec::new());
    for id in 0..100_000u64 {
        let text = match id % 4 {
            0 => "short".to_owned(),
            1 => format!(
                "a longer line that wraps on a narrow terminal {}",
                "word ".repeat(20)
            ),
            2 => "宽字符的一行 with emoji 😀 and ace mentioned".to_owned(),
            _ => "two\nlines".to_owned(),
        };
        app.on_engine(message(
            id,
            ["bob", "carol", "dave"][id as usize % 3],
            &text,
        ));
    }
    let after = rss_kib();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let frame_times = |terminal: &mut Terminal<TestBackend>, app: &mut App, scroll: bool| {
        let mut times = Vec::new();
        for i in 0..60 {
            if scroll && i % 10 == 0 {
                app.scroll_up(37);
            }
            let start = std::time::Instant::now();
            terminal.draw(|frame| view::draw(frame, app)).unwrap();
            times.push(start.elapsed());
        }
        times.sort();
        (times[times.len() / 2], times[times.len() * 99 / 100])
    };
    let screen = |terminal: &Terminal<TestBackend>| format!("{:?}", terminal.backend().buffer());
    let (live50, live99) = frame_times(&mut terminal, &mut app, false);
    let live = screen(&terminal);
    assert!(live.contains("lines"), "the newest message is on screen");
    let (scroll50, scroll99) = frame_times(&mut terminal, &mut app, true);
    assert_ne!(screen(&terminal), live, "scrolling shows other lines");
    println!(
        "100000 lines at 120x40: frame p50 {live50:?} p99 {live99:?} live; p50 {scroll50:?} p99 {scroll99:?} scrolling; \
         memory {} KiB for the lines (RSS {} KiB)",
        after.saturating_sub(before),
        after
    );
}

#[test]
fn no_color_draws_without_colours_but_keeps_the_mention_visible() {
    let mut app = busy_room();
    app.color = false;
    let terminal = draw(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
    let row = |y: u16| {
        (0..80)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect::<String>()
    };
    let y = (0..24)
        .find(|&y| row(y).contains("hi all, ace:"))
        .expect("carol's line");
    let x = row(y).find("ace:").unwrap() as u16;
    assert!(
        buffer[(x, y)].modifier.contains(Modifier::REVERSED),
        "the mention stands out"
    );
    assert!(!buffer[(x - 2, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn tiny_and_odd_sizes_draw_without_panicking() {
    let mut app = busy_room();
    type_text(&mut app, "a line\nwith two rows and 中文");
    for (w, h) in [
        (1, 1),
        (2, 3),
        (5, 4),
        (10, 5),
        (13, 2),
        (59, 7),
        (60, 7),
        (200, 3),
    ] {
        screen(&mut app, w, h);
        key(&mut app, KeyCode::PageUp);
        screen(&mut app, w, h);
        key(&mut app, KeyCode::Home);
        app.on_engine(message(99, "bob", "中文字符测试 while scrolled"));
        screen(&mut app, w, h);
        press(&mut app, KeyCode::End, KeyModifiers::CONTROL);
    }
}
