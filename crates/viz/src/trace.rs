//! A step's `--trace` file read back: one row per worker thread or MPI rank, and the phases of
//! every file on it, from when its thread was handed the file to when it was done (what lies
//! between one file's end and the next one's start on a row is waiting). What `timeline` draws, and what the queue diagram takes from a real run
//! (which worker wrote which file).

use serde_json::Value;

/// What the trace says: the rows (threads or ranks) and the phases of every file on them.
#[derive(Debug, PartialEq)]
pub struct Timeline {
    pub rows: Vec<String>,
    pub bars: Vec<Bar>,
}

/// One phase of one file: on `row`, from `start` to `end` in microseconds.
#[derive(Debug, PartialEq)]
pub struct Bar {
    pub row: usize,
    pub start: f64,
    pub end: f64,
    pub phase: String,
    pub file_id: Option<usize>,
}

impl Timeline {
    /// The same timeline with its times counted from its first file's start: a trace's times
    /// are the wall clock (microseconds since 1970), the same on every rank of one machine.
    pub fn from_zero(mut self) -> Timeline {
        let t0 = self
            .bars
            .iter()
            .map(|b| b.start)
            .fold(f64::INFINITY, f64::min);
        if t0.is_finite() {
            for bar in &mut self.bars {
                bar.start -= t0;
                bar.end -= t0;
            }
        }
        self
    }

    /// The files each row wrote, in the order it started them.
    pub fn files_by_row(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.rows.len()];
        let mut firsts: Vec<&Bar> = self.bars.iter().filter(|b| b.file_id.is_some()).collect();
        firsts.sort_by(|a, b| a.start.total_cmp(&b.start));
        for bar in firsts {
            let id = bar.file_id.unwrap_or(0);
            if !rows[bar.row].contains(&id) {
                rows[bar.row].push(id);
            }
        }
        rows
    }
}

/// The (pid, tid) of an event.
fn thread_of(e: &Value) -> (i64, i64) {
    (
        e["pid"].as_i64().unwrap_or(0),
        e["tid"].as_i64().unwrap_or(0),
    )
}

/// Rows in (pid, tid) order, named "<process> / <thread>", or just the thread when the trace
/// has one process (a thread step); bars from the "phase" events.
pub fn read(json: &Value) -> Result<Timeline, String> {
    let events = json["traceEvents"]
        .as_array()
        .ok_or("no traceEvents: not a trace written by --trace")?;
    let named = |kind: &'static str| events.iter().filter(move |e| e["name"] == kind);
    let process_name = |pid: i64| {
        named("process_name")
            .find(|e| e["pid"].as_i64() == Some(pid))
            .and_then(|e| e["args"]["name"].as_str())
            .unwrap_or("")
    };
    let one_process = named("process_name").count() == 1;
    let mut rows: Vec<((i64, i64), String)> = named("thread_name")
        .map(|e| {
            let key = thread_of(e);
            let thread = e["args"]["name"].as_str().unwrap_or("?");
            let name = if one_process {
                thread.to_owned()
            } else {
                format!("{} / {thread}", process_name(key.0))
            };
            (key, name)
        })
        .collect();
    rows.sort();
    let bars = events
        .iter()
        .filter(|e| e["cat"] == "phase")
        .filter_map(|e| {
            let row = rows.iter().position(|(k, _)| *k == thread_of(e))?;
            let start = e["ts"].as_f64().unwrap_or(0.0);
            Some(Bar {
                row,
                start,
                end: start + e["dur"].as_f64().unwrap_or(0.0),
                phase: e["name"].as_str().unwrap_or("").to_owned(),
                file_id: e["args"]["file_id"].as_u64().map(|id| id as usize),
            })
        })
        .collect();
    Ok(Timeline {
        rows: rows.into_iter().map(|(_, name)| name).collect(),
        bars,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_count_from_the_first_file() {
        let bar = |row, start: f64, end: f64| Bar {
            row,
            start,
            end,
            phase: "compute".into(),
            file_id: Some(row),
        };
        let t = Timeline {
            rows: vec!["rank 0".into(), "rank 1".into()],
            bars: vec![
                bar(0, 1.7e15 + 30.0, 1.7e15 + 50.0),
                bar(1, 1.7e15 + 10.0, 1.7e15 + 20.0),
            ],
        }
        .from_zero();
        assert_eq!((t.bars[0].start, t.bars[0].end), (20.0, 40.0));
        assert_eq!((t.bars[1].start, t.bars[1].end), (0.0, 10.0));
    }
}
