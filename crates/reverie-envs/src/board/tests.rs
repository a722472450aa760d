//! The envs' side of the board games: rewards, masks, observations, errors, the settable
//! state, known functions and pictures, through the [`Env`] API the learners use.

use reverie_core::env_check::check_env;
use reverie_core::{Env, EnvError, Frame, InfoValue, Observation, Rng, SimulatorState};

use super::*;

fn mask(info: &reverie_core::Info) -> Vec<i64> {
    info.action_mask().expect("an action mask").to_vec()
}

#[test]
fn the_env_plays_both_sides_and_pays_the_first_players_view() {
    let mut env = TicTacToe::new();
    // X: 1, 4, 8; O: 0, 3, 6 wins the left column on the sixth move.
    env.reset(Some(0));
    for (t, &cell) in [1, 0, 4, 3, 8, 6].iter().enumerate() {
        let step = env.step(&cell).unwrap();
        let last = t == 5;
        assert_eq!(step.reward, if last { -1.0 } else { 0.0 }, "move {t}");
        assert_eq!((step.terminated, step.truncated), (last, false));
        // After move t, the player to move is the second one when t is even.
        assert_eq!(
            step.info.get("to_play"),
            Some(&InfoValue::Int((t % 2 == 0) as i64))
        );
    }
    // X wins the top row: +1.
    env.reset(None);
    let rewards: Vec<f64> = [0, 3, 1, 4, 2]
        .iter()
        .map(|a| env.step(a).unwrap().reward)
        .collect();
    assert_eq!(rewards, [0.0, 0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn illegal_actions_are_refused_with_an_error_and_change_nothing() {
    let mut env = TicTacToe::new();
    env.reset(Some(0));
    env.step(&4).unwrap();
    let before = env.state();
    let err = env.step(&4).unwrap_err();
    assert!(matches!(err, EnvError::InvalidAction { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("already taken") && text.contains("action_mask"),
        "{text}"
    );
    assert_eq!(env.state(), before);
    assert!(env
        .step(&9)
        .unwrap_err()
        .to_string()
        .contains("out of range"));

    let mut env = ConnectFour::new();
    env.reset(Some(0));
    for _ in 0..6 {
        env.step(&0).unwrap();
    }
    let text = env.step(&0).unwrap_err().to_string();
    assert!(text.contains("column 0 is full"), "{text}");

    let mut env = TicTacToe::new();
    env.reset(Some(0));
    for a in [0, 3, 1, 4, 2] {
        env.step(&a).unwrap();
    }
    let text = env.step(&8).unwrap_err().to_string();
    assert!(
        text.contains("game is over") && text.contains("reset"),
        "{text}"
    );
}

/// Random games through the env: the mask in `info` is the legal moves, every masked
/// action is refused and every allowed one accepted.
fn masks_match_legal_moves<G: BoardGame>() {
    let mut env = BoardEnv::<G>::new();
    let space = env.action_space();
    let mut rng = Rng::seed_from_u64(1);
    for _ in 0..20 {
        let (_, mut info) = env.reset(None);
        loop {
            let m = mask(&info);
            assert_eq!(m, env.position().action_mask());
            assert_eq!(m.len(), G::ACTIONS);
            for (action, &allowed) in m.iter().enumerate() {
                let mut copy = env.clone();
                let accepted = copy.step(&(action as i64)).is_ok();
                assert_eq!(accepted, allowed == 1, "{} action {action}", G::ID);
            }
            let action = space.sample_masked(Some(&m), &mut rng);
            let step = env.step(&action.as_discrete().unwrap()).unwrap();
            info = step.info;
            if step.terminated {
                assert!(mask(&info).iter().all(|&x| x == 0), "no move after the end");
                break;
            }
        }
    }
}

#[test]
fn the_mask_in_info_matches_the_legal_moves() {
    masks_match_legal_moves::<TicTacToeBoard>();
    masks_match_legal_moves::<ConnectFourBoard>();
}

#[test]
fn observation_planes_follow_the_player_to_move() {
    let mut env = TicTacToe::new();
    let (obs, _) = env.reset(Some(0));
    assert_eq!(&obs[..18], &[0.0; 18]);
    assert_eq!(&obs[18..], &[1.0; 9], "the first player is to move");
    let obs = env.step(&4).unwrap().obs;
    // O to move: its own plane is empty, X's piece is the opponent's, the turn plane is 0.
    assert_eq!(&obs[..9], &[0.0; 9]);
    assert_eq!(obs[9 + 4], 1.0);
    assert_eq!(obs[9..18].iter().sum::<f32>(), 1.0);
    assert_eq!(&obs[18..], &[0.0; 9]);
    let obs = env.step(&0).unwrap().obs;
    assert_eq!(
        (obs[4], obs[9]),
        (1.0, 1.0),
        "X's own piece, O's as the opponent's"
    );
    let Some(space) = env.observation_space().as_box().cloned() else {
        panic!("a box")
    };
    assert_eq!(space.shape, vec![3, 3, 3]);
    let c4 = ConnectFour::new();
    assert_eq!(
        c4.observation_space().as_box().unwrap().shape,
        vec![3, 6, 7]
    );
}

#[test]
fn the_state_round_trips_and_impossible_boards_are_refused() {
    let mut env = ConnectFour::new();
    env.reset(Some(0));
    for a in [3, 3, 4] {
        env.step(&a).unwrap();
    }
    let state = env.state();
    assert_eq!(state.len(), 42);
    assert_eq!((state[38], state[31], state[39]), (1.0, 2.0, 1.0));
    let obs = Observation::Vector(ConnectFour::observe(env.position()));
    assert_eq!(env.state_of_observation(&obs), Some(state.clone()));

    let mut other = ConnectFour::new();
    assert_eq!(other.set_state(&state).unwrap(), obs);
    assert_eq!(other.position(), env.position());
    // The copy plays on from there like the original: second player to move.
    assert_eq!(other.step(&0).unwrap(), env.step(&0).unwrap());

    for (bad, why) in [
        (vec![3.0; 42], "expected 0"),
        (vec![0.5; 42], "expected 0"),
        (vec![0.0; 41], "42 cells"),
    ] {
        let err = other.set_state(&bad).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    let mut two_seconds = vec![0.0; 42];
    (two_seconds[40], two_seconds[41]) = (2.0, 2.0);
    assert!(other.set_state(&two_seconds).is_err());
    // X has a line but O moved last: no game gets there.
    let mut tic = TicTacToe::new();
    let err = tic
        .set_state(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0])
        .unwrap_err();
    assert!(matches!(err, EnvError::InvalidState { .. }), "{err}");
    // A won board is accepted, and is terminal.
    tic.set_state(&[1.0, 1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0])
        .unwrap();
    assert_eq!(tic.position().outcome(), Some(Outcome::Win(Player::First)));
    assert!(tic.step(&8).is_err());
}

#[test]
fn both_envs_pass_the_env_check() {
    for id in ["TicTacToe-v0", "ConnectFour-v0"] {
        let report = check_env(&|| crate::make(id).unwrap(), 5);
        assert!(report.passed(), "{id}: {:?}", report.checks);
    }
}

#[test]
fn known_functions_read_the_outcome_off_the_next_observation() {
    let mut env = TicTacToe::new();
    let known = env.known_functions();
    let (reward, termination) = (known.reward.unwrap(), known.termination.unwrap());
    let mut obs = env.reset(Some(0)).0;
    for (a, want) in [(1, 0.0), (0, 0.0), (4, 0.0), (3, 0.0), (8, 0.0), (6, -1.0)] {
        let step = env.step(&a).unwrap();
        let onehot: Vec<f32> = (0..9).map(|i| (i == a) as u8 as f32).collect();
        assert_eq!(reward(&obs, &onehot, &step.obs), want);
        assert_eq!(termination(&obs, &onehot, &step.obs), step.terminated);
        obs = step.obs;
    }
    // A model's blurry observation still decodes (values above 0.5 are pieces).
    let blurry: Vec<f32> = obs.iter().map(|&x| 0.2 + 0.6 * x).collect();
    assert_eq!(reward(&obs, &[0.0; 9], &blurry), -1.0);
}

#[test]
fn frames_show_the_pieces() {
    for id in ["TicTacToe-v0", "ConnectFour-v0"] {
        let mut env = crate::make(id).unwrap();
        env.reset(Some(0));
        let (w, h) = env.render_size().unwrap();
        let mut empty = Frame::new(w, h);
        env.render(&mut empty).unwrap();
        env.step(&reverie_core::Action::Discrete(0)).unwrap();
        let mut one = Frame::new(w, h);
        env.render(&mut one).unwrap();
        assert!(crate::render::mean_abs_diff(&empty, &one) > 0.0, "{id}");
    }
    assert_eq!(TicTacToe::new().render_size(), Some((192, 192)));
    assert_eq!(ConnectFour::new().render_size(), Some((448, 384)));
}

#[test]
fn alpha_beta_plays_through_the_envs_true_simulator() {
    // AlphaZero's use: search from the env's own position, then step the env.
    let search = AlphaBeta::full_depth();
    let mut env = TicTacToe::new();
    env.reset(Some(0));
    loop {
        let action = search.best_move(env.position()).unwrap();
        let step = env.step(&(action as i64)).unwrap();
        if step.terminated {
            assert_eq!(step.reward, 0.0, "perfect play draws");
            break;
        }
    }
}

#[test]
fn vectorised_games_report_each_envs_turn_and_legal_moves_through_autoresets() {
    use reverie_core::{AutoresetMode, VecEnv};
    let mut envs = VecEnv::from_fn(2, AutoresetMode::SameStep, TicTacToe::new);
    envs.reset(Some(0));
    // X takes 0, 1, 2 in env 0 (O answers 3, 4) and wins on the fifth move; env 1 plays
    // the same cells in another order and is still going.
    let moves = [[0, 4], [3, 0], [1, 8], [4, 1], [2, 6]];
    for (t, pair) in moves.iter().enumerate() {
        envs.step(pair).unwrap();
        let first = [false, false];
        let ctx = envs.turns().context(&first);
        let (legal, to_play) = (ctx.legal.unwrap(), ctx.to_play.unwrap());
        if t < 4 {
            assert_eq!(to_play, [(t % 2 == 0) as u8; 2], "move {t}");
            assert!(!legal[pair[0] as usize] && !legal[9 + pair[1] as usize]);
        }
    }
    assert_eq!(envs.ended(), [true, false]);
    let first = [false, false];
    let ctx = envs.turns().context(&first);
    // Env 0 was reset in the same step: an empty board, X to move.
    assert_eq!(ctx.legal_row(0, 9), Some(&[true; 9][..]));
    assert_eq!(ctx.to_play.unwrap(), [0, 1]);
    // Env 1 holds X on 4, 8, 6 and O on 0, 1: those five cells are taken.
    let taken: Vec<usize> = (0..9)
        .filter(|&c| !ctx.legal_row(1, 9).unwrap()[c])
        .collect();
    assert_eq!(taken, [0, 1, 4, 6, 8]);
}
