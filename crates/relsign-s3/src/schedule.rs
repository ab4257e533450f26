//! The request shape of each file of a phase, chosen for the release at hand rather than by
//! a fixed size: whole-object PUTs, streamed from disk, while there is work for every
//! connection; parts only for a file so large that, sent whole, it would keep one
//! connection busy long after the others have run out of work.
//!
//! A whole PUT is one request with one first-byte wait and, on a server that assembles
//! parts (s3s-fs copies every part again on completion), half the server's work; parts cost
//! a request and a wait each. So parts are worth it only where they keep connections busy.

/// How one file goes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One PutObject, its body streamed from the file.
    Whole,
    /// A multipart upload, `jobs` parts at most in flight.
    Parts,
}

/// The order to start the files of one phase in (indexes into `sizes`) and the shape of
/// each. Largest first, so that the long transfers start first and the small files fill
/// the connections at the end. A file goes in parts when it is at least `always_parts`
/// bytes (S3 takes at most 5 GiB in one PUT), or when it is more than one connection's
/// share of the phase (its bytes over `jobs`) and makes two parts at least; otherwise
/// whole.
pub fn schedule(sizes: &[u64], jobs: usize, part_size: u64, always_parts: u64) -> Vec<(usize, Shape)> {
    let total: u64 = sizes.iter().sum();
    let share = total.div_ceil(jobs.max(1) as u64);
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    // Stable: equal sizes keep the plan's (name) order.
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]));
    order
        .into_iter()
        .map(|i| {
            let size = sizes[i];
            let straggler = size > share && size >= 2 * part_size;
            (i, if size >= always_parts || straggler { Shape::Parts } else { Shape::Whole })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const ALWAYS: u64 = 5 << 30;

    fn shapes(sizes: &[u64], jobs: usize) -> Vec<(u64, Shape)> {
        schedule(sizes, jobs, 8 * MIB, ALWAYS).into_iter().map(|(i, s)| (sizes[i], s)).collect()
    }

    #[test]
    fn a_release_of_many_files_goes_whole_largest_first() {
        // The bench's W: 8 x 150 MiB, 6 x 20 MiB, 4 x 5 MiB, 2 x 8 KiB, on 8 connections:
        // one connection's share is 168 MiB, more than the largest file.
        let mut sizes = vec![8 << 10, 5 * MIB, 150 * MIB, 20 * MIB];
        sizes.extend([150 * MIB; 7]);
        sizes.extend([20 * MIB; 5]);
        sizes.extend([5 * MIB; 3]);
        sizes.push(8 << 10);
        let planned = shapes(&sizes, 8);
        assert!(planned.iter().all(|(_, s)| *s == Shape::Whole), "{planned:?}");
        let in_order: Vec<u64> = planned.iter().map(|(size, _)| *size).collect();
        let mut sorted = in_order.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(in_order, sorted);
    }

    #[test]
    fn a_file_larger_than_a_connections_share_goes_in_parts() {
        let planned = shapes(&[600 * MIB, 5 * MIB, 5 * MIB, 5 * MIB], 8);
        assert_eq!(planned[0], (600 * MIB, Shape::Parts));
        assert!(planned[1..].iter().all(|(_, s)| *s == Shape::Whole));
        // One large file alone: parts, whatever the connections.
        assert_eq!(shapes(&[4096 * MIB], 8), vec![(4096 * MIB, Shape::Parts)]);
        assert_eq!(shapes(&[100 * MIB, 100 * MIB], 8), vec![(100 * MIB, Shape::Parts); 2]);
    }

    #[test]
    fn small_files_never_go_in_parts() {
        // Larger than the share but not two parts' worth: one request beats two.
        assert_eq!(shapes(&[15 * MIB], 8), vec![(15 * MIB, Shape::Whole)]);
        let many = vec![1024; 20_000];
        assert!(shapes(&many, 8).iter().all(|(_, s)| *s == Shape::Whole));
    }

    #[test]
    fn the_threshold_forces_parts() {
        let planned = schedule(&[20 * MIB, 20 * MIB, 20 * MIB, 20 * MIB], 2, 8 * MIB, 16 * MIB);
        assert!(planned.iter().all(|(_, s)| *s == Shape::Parts));
        assert!(shapes(&[ALWAYS, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1).contains(&(ALWAYS, Shape::Parts)));
    }
}
