use super::*;

fn parse(argv: &[&str], workers: bool, slurm: Option<&str>) -> Result<Args, clap::Error> {
    let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
    parse_from(&argv, workers, slurm.map(str::to_owned))
}

#[test]
fn numbers_must_be_whole_and_positive() {
    assert_eq!(at_least_one("12"), Ok(12));
    assert!(at_least_one("0").unwrap_err().contains("at least 1"));
    assert!(at_least_one("-3").unwrap_err().contains("got -3"));
    assert!(at_least_one("ten").unwrap_err().contains("'ten'"));
    assert!(at_least_one("1.5").is_err());
    assert!(grid_size("100000000").unwrap_err().contains("memory"));
}

#[test]
fn prefixes_are_plain_file_names() {
    assert_eq!(file_prefix("data").as_deref(), Ok("data"));
    assert!(file_prefix("").is_err());
    assert!(file_prefix("a/b").unwrap_err().contains("'/'"));
    assert!(file_prefix("a~b").is_err());
    assert!(file_prefix("a\nb")
        .unwrap_err()
        .contains("control character"));
    for dotted in [".", "..", ".data"] {
        assert!(file_prefix(dotted)
            .unwrap_err()
            .contains("starts with a dot"));
    }
    assert!(file_prefix(&"x".repeat(300)).is_err());
}

#[test]
fn workers_come_from_the_flag_then_slurm_then_one() {
    let workers = |argv: &[&str], slurm| {
        let args = parse(argv, true, slurm).unwrap();
        (args.workers, args.workers_from)
    };
    assert_eq!(
        workers(&["w", "-w", "3"], Some("8")),
        (3, Some(WorkersFrom::Flag))
    );
    assert_eq!(workers(&["w"], Some("8")), (8, Some(WorkersFrom::Slurm)));
    assert_eq!(workers(&["w"], None), (1, Some(WorkersFrom::Default)));
    let e = parse(&["w"], true, Some("lots")).unwrap_err();
    assert!(
        first_line(&e).contains(SLURM_CPUS_PER_TASK),
        "{}",
        first_line(&e)
    );
    assert!(parse(&["w", "-w", "0"], true, None).is_err());
    assert!(parse(&["w", "-w", "1024"], true, None).is_ok());
    assert!(parse(&["w", "-w", "1025"], true, None).is_err());
    // A step without workers has no -w.
    assert!(parse(&["w", "-w", "2"], false, None).is_err());
    assert_eq!(parse(&["w"], false, Some("8")).unwrap().workers_from, None);
}

#[test]
fn defaults_match_the_workshop_and_errors_are_one_line() {
    let args = parse(&["write"], false, None).unwrap();
    assert_eq!(
        (args.n_files, args.size, args.output.as_str()),
        (15, 100, "data")
    );
    assert_eq!(args.dir, PathBuf::from("output"));
    let args = parse(&["write", "-n", "3", "-s", "7", "-o", "run"], false, None).unwrap();
    assert_eq!(
        (args.n_files, args.size, args.output.as_str()),
        (3, 7, "run")
    );
    let e = parse(&["write", "-n", "0"], false, None).unwrap_err();
    assert!(!first_line(&e).contains('\n'));
    assert!(first_line(&e).contains("at least 1"), "{}", first_line(&e));
}
