//! Custom-field typing throughput (issue 23): a 10,000-row tickets CSV with 6 custom fields
//! (number, decimal, checkbox, date, dropdown, text), read by the intake and each row typed by
//! the account's fields (`TicketFields::type_ticket`, what the engine does before a create).
//! Prints the median of 7 rounds for parse + convert and for the conversion alone. Target:
//! ≥ 100,000 rows/s. Run with `cargo bench --bench convert`.

use fdsync::domain::{Action, Op};
use fdsync::freshdesk::{Decode, TicketFields};
use fdsync::intake::{self, Format, Record};
use std::time::{Duration, Instant};

const ROWS: usize = 10_000;
const RUNS: usize = 7;

const FIELDS: &[u8] = br#"[
  {"id": 1, "name": "cf_count", "label": "Count", "type": "custom_number", "required_for_agents": false, "required_for_closure": false},
  {"id": 2, "name": "cf_ratio", "label": "Ratio", "type": "custom_decimal", "required_for_agents": false, "required_for_closure": false},
  {"id": 3, "name": "cf_urgent", "label": "Urgent", "type": "custom_checkbox", "required_for_agents": false, "required_for_closure": false},
  {"id": 4, "name": "cf_due", "label": "Due", "type": "custom_date", "required_for_agents": false, "required_for_closure": false},
  {"id": 5, "name": "cf_region", "label": "Region", "type": "custom_dropdown", "required_for_agents": false, "required_for_closure": false,
   "choices": ["EMEA", "North America", "APAC", "LATAM"]},
  {"id": 6, "name": "cf_host", "label": "Host", "type": "custom_text", "required_for_agents": false, "required_for_closure": false}
]"#;

fn csv() -> String {
    let mut out = String::from(
        "email,subject,description,priority,status,cf_count,cf_ratio,cf_urgent,cf_due,cf_region,cf_host\n",
    );
    let regions = ["emea", "north america", "APAC", "Latam"];
    let flags = ["yes", "no", "TRUE", "0"];
    for i in 0..ROWS {
        out.push_str(&format!(
            "user{i}@example.com,Disk alert {i},Volume /var at 9{d}%,High,Open,{i},{d}.5,{f},2026-{m:02}-{day:02},{r},db-{h}\n",
            d = i % 10,
            f = flags[i % 4],
            m = i % 12 + 1,
            day = i % 28 + 1,
            r = regions[i % 4],
            h = i % 997,
        ));
    }
    out
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let fields = TicketFields::decode(FIELDS).expect("fields decode");
    let text = csv();
    let (mut both, mut alone) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut tickets = Vec::with_capacity(ROWS);
        for item in
            intake::parse_reader(text.as_bytes(), Format::Csv, Some(Action::CreateTicket)).expect("header")
        {
            match item.expect("no file error") {
                Record::Op { op: Op::CreateTicket(t), .. } => tickets.push(t),
                other => panic!("not a ticket: {other:?}"),
            }
        }
        let parsed = start.elapsed();
        let typing = Instant::now();
        let mut typed = 0;
        for t in &tickets {
            let out = fields.type_ticket(t).expect("every generated row converts");
            typed += out.custom_fields.len();
        }
        let converted = typing.elapsed();
        assert_eq!(typed, ROWS * 6);
        both.push(parsed + converted);
        alone.push(converted);
    }
    let rate = |d: Duration| ROWS as f64 / d.as_secs_f64();
    let (both, alone) = (median(both), median(alone));
    println!("{ROWS} rows x 6 custom fields, median of {RUNS}:");
    println!("  parse + convert: {both:.2?} = {:.0} rows/s", rate(both));
    println!("  convert alone:   {alone:.2?} = {:.0} rows/s", rate(alone));
    println!("  target: >= 100000 rows/s");
}
