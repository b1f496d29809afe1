//! Recovery's reading of the write-ahead log on arbitrary bytes (a segment cut or corrupted
//! anywhere): never a panic, and what it returns is consistent: sequence numbers consecutive
//! from the header's first one, and the end right after the last record read. Run it with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run wal -- -max_total_time=60`.

#![no_main]

use hooktail::store::wal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let scan = wal::scan(data);
    let mut expected = scan.segment.map(|s| s.first_seq);
    let mut end = wal::HEADER;
    for (seq, payload) in &scan.records {
        assert_eq!(Some(*seq), expected);
        expected = seq.checked_add(1);
        end += wal::RECORD_HEAD + payload.len();
    }
    assert_eq!(scan.end, end);
    assert!(scan.records.is_empty() || scan.end <= data.len());
});
