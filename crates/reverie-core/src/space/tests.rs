use super::*;

#[test]
fn discrete_sample_in_space() {
    let space = Space::Discrete { n: 3, start: -1 };
    let mut rng = Rng::seed_from_u64(0);
    for _ in 0..100 {
        let a = space.sample(&mut rng);
        assert!(space.contains_action(&a), "{a:?}");
    }
    assert!(!space.contains_action(&Action::Discrete(2)));
    assert!(!space.contains_action(&Action::Vector(vec![0.0])));
}

#[test]
fn box_sample_respects_bounds_and_unbounded_dims() {
    let space = Space::boxed(
        vec![-2.0, f32::NEG_INFINITY, 0.0],
        vec![2.0, f32::INFINITY, f32::INFINITY],
    );
    let mut rng = Rng::seed_from_u64(0);
    for _ in 0..200 {
        let a = space.sample(&mut rng);
        let v = a.as_vector().unwrap();
        assert!((-2.0..=2.0).contains(&v[0]));
        assert!(v[1].is_finite());
        assert!(v[2] >= 0.0);
    }
}

#[test]
fn box_rejects_nan_and_wrong_shape() {
    let space = Space::boxed(vec![-1.0], vec![1.0]);
    let err = space
        .check_action(&Action::Vector(vec![f32::NAN]))
        .unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let err = space
        .check_action(&Action::Vector(vec![0.0, 0.0]))
        .unwrap_err();
    assert!(err.to_string().contains("wrong shape"), "{err}");
    let err = space.check_action(&Action::Vector(vec![1.5])).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
}

#[test]
fn describe_matches_gymnasium_style() {
    assert_eq!(Space::discrete(2).describe(), "Discrete(2)");
    assert_eq!(
        Space::boxed(vec![-2.0], vec![2.0]).describe(),
        "Box(-2, 2, (1,), float32)"
    );
}

#[test]
fn masked_samples_keep_to_the_allowed_actions() {
    let space = Space::Discrete { n: 4, start: 1 };
    let mut rng = Rng::seed_from_u64(0);
    let mut seen = [0; 4];
    for _ in 0..400 {
        let a = space.sample_masked(Some(&[0, 1, 0, 1]), &mut rng);
        seen[(a.as_discrete().unwrap() - 1) as usize] += 1;
    }
    assert_eq!((seen[0], seen[2]), (0, 0));
    assert!(seen[1] > 150 && seen[3] > 150, "{seen:?}");
    // No mask, or one that allows nothing: plain sampling, the same draws.
    for mask in [None, Some(&[0i64; 4][..])] {
        let (mut a, mut b) = (Rng::seed_from_u64(3), Rng::seed_from_u64(3));
        assert_eq!(space.sample_masked(mask, &mut a), space.sample(&mut b));
    }
}
