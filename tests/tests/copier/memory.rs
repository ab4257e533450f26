//! Memory of a re-run: over 5,000 published files (10,002 objects with their signatures,
//! SHA256SUMS and the manifest), every one proven by a HeadObject, the copier's own peak RSS,
//! as GNU time reads it for exactly that process, stays under 200 MiB.
//! (The re-run over 20,000 is a row of scripts/bench, with the same target.)

use std::process::Stdio;

use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use super::{pattern, setup};

fn five_thousand(dist: &std::path::Path) {
    for i in 0..5000u64 {
        write_tree(dist, &[(format!("files/f-{i:04}.bin").as_str(), &pattern(1024, i)[..])]);
    }
}

#[test]
fn a_rerun_over_5000_published_files_stays_under_200_mib() {
    let s = setup(LocalAws::moto(), five_thousand);
    let from = s.signed.to_str().unwrap().to_string();
    let args = ["--from", from.as_str(), "--to", "s3://releases/many", "--path-style", "--json"];
    TestCommand::copier().args(args).envs(&s.env).expect_ok();
    let mut again = TestCommand::copier();
    again.args(args).envs(&s.env);
    let (status, rss_kib) = run_measured(again.command().stdout(Stdio::null()).stderr(Stdio::null()));
    assert!(status.success(), "the re-run failed: {status:?}");
    eprintln!("re-run over 5,000 published files: peak RSS {} MiB", rss_kib / 1024);
    assert!(rss_kib < 200 * 1024, "peak RSS {} MiB, over 200 MiB", rss_kib / 1024);
}
