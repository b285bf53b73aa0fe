//! Intake throughput: writes a 1,000,000-row tickets CSV to a temp dir, then times
//! `intake::open` + iterating every record, three times, and prints the median rows/s and the
//! process's peak RSS (VmHWM). Run with `cargo bench --bench parse`.

use fdsync::intake::{self, Record};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const ROWS: u64 = 1_000_000;
const RUNS: usize = 3;

fn generate(path: &Path) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "action,email,name,subject,description,priority,status,tags,external_id,cf_host,group_id")?;
    let priorities = ["Low", "Medium", "High", "Urgent"];
    let statuses = ["Open", "Pending", "2", "3"];
    for i in 0..ROWS {
        writeln!(
            w,
            "create_ticket,user{i}@example.com,User {i},\"Disk usage alert on host-{h}, volume /var\",\
             \"Monitoring saw /var at 9{d}% on host-{h}. Please check the log rotation and clean up.\",\
             {p},{s},monitoring;disk;host-{h},MON-{i},db-{h},4302644{g:04}",
            h = i % 997,
            d = i % 10,
            p = priorities[(i % 4) as usize],
            s = statuses[(i % 4) as usize],
            g = i % 10_000,
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run_once(path: &Path) -> Duration {
    let start = Instant::now();
    let (mut ops, mut invalid) = (0u64, 0u64);
    for item in intake::open(path, None).expect("open") {
        match item.expect("no file error") {
            Record::Op { .. } => ops += 1,
            Record::Invalid { row, errors, .. } => {
                if invalid == 0 {
                    eprintln!("row {row} invalid: {errors:?}");
                }
                invalid += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    assert_eq!((ops, invalid), (ROWS, 0), "every generated row must parse");
    elapsed
}

/// The floor: the csv crate alone reading every record, no mapping or validation.
fn csv_only(path: &Path) -> Duration {
    let start = Instant::now();
    let mut reader = csv::Reader::from_path(path).expect("open");
    let mut record = csv::StringRecord::new();
    let mut n = 0u64;
    while reader.read_record(&mut record).expect("read") {
        n += 1;
    }
    assert_eq!(n, ROWS);
    start.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; any other filter argument is ignored.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tickets.csv");
    let t = Instant::now();
    let bytes = generate(&path).expect("generate");
    println!("generated {ROWS} rows ({:.1} MB) in {:.2?}", bytes as f64 / 1e6, t.elapsed());
    let rss_before = peak_rss_kb().unwrap_or(0);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|i| {
            let d = run_once(&path);
            println!("run {}: {:.2?}  {:.0} rows/s", i + 1, d, ROWS as f64 / d.as_secs_f64());
            d
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "median: {:.2?}  {:.0} rows/s  {:.1} MB/s",
        median,
        ROWS as f64 / median.as_secs_f64(),
        bytes as f64 / 1e6 / median.as_secs_f64()
    );
    let floor = csv_only(&path);
    println!("csv crate alone (floor): {:.2?}  {:.0} rows/s", floor, ROWS as f64 / floor.as_secs_f64());
    let peak = peak_rss_kb().unwrap_or(0);
    println!(
        "peak RSS (VmHWM): {:.1} MB (before parsing: {:.1} MB)",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
