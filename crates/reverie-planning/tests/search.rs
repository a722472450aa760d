//! Tree search on a real two-player game through the public API only: tic-tac-toe as
//! AlphaZero sees it (the true rules as the model, uniform priors, no value knowledge), so
//! everything the search knows about a move it learns from its own simulations.

use std::convert::Infallible;

use reverie_core::{Mode, Rng};
use reverie_planning::{
    select_action, Evaluation, Evaluations, GumbelConfig, Leaves, Mcts, MctsConfig, PuctConfig,
    SearchModel, Selection, UnvisitedQ,
};

/// A position: cells 0..9 row by row, 1 for X, −1 for O, 0 empty; X moves first.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Board {
    cells: [i8; 9],
    to_move: i8,
}

const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

impl Board {
    /// The position from a picture: `X`, `O` or `.` per cell.
    fn parse(picture: &str) -> Self {
        let cells: Vec<i8> = picture
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'X' => 1,
                'O' => -1,
                _ => 0,
            })
            .collect();
        let cells: [i8; 9] = cells.try_into().expect("nine cells");
        let placed: i8 = cells.iter().sum();
        Board {
            cells,
            to_move: if placed == 0 { 1 } else { -1 },
        }
    }

    fn legal(&self) -> [bool; 9] {
        self.cells.map(|c| c == 0)
    }

    fn wins(&self, player: i8) -> bool {
        LINES
            .iter()
            .any(|line| line.iter().all(|&i| self.cells[i] == player))
    }
}

/// The rules as a search model: a move that completes a line pays +1 to its player and
/// ends the game; a full board ends it with 0.
struct TicTacToe {
    illegal_moves: usize,
}

const UNIFORM: [f32; 9] = [0.0; 9];

impl TicTacToe {
    fn push(roots: &mut Evaluations<Board>, board: Board) {
        let legal = board.legal();
        roots.push(
            board,
            0.0,
            Evaluation {
                logits: &UNIFORM,
                value: 0.0,
                legal: Some(&legal),
            },
        );
    }
}

impl SearchModel for TicTacToe {
    type State = Board;
    type Error = Infallible;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, Board>,
        out: &mut Evaluations<Board>,
    ) -> Result<(), Infallible> {
        for (board, action) in leaves.iter() {
            if board.cells[action] != 0 {
                self.illegal_moves += 1;
            }
            let mut next = *board;
            next.cells[action] = board.to_move;
            next.to_move = -board.to_move;
            if next.wins(board.to_move) {
                out.push_terminal(next, 1.0);
            } else if next.cells.iter().all(|&c| c != 0) {
                out.push_terminal(next, 0.0);
            } else {
                let legal = next.legal();
                out.push(
                    next,
                    0.0,
                    Evaluation {
                        logits: &UNIFORM,
                        value: 0.0,
                        legal: Some(&legal),
                    },
                );
            }
        }
        Ok(())
    }
}

fn board_game(simulations: usize, selection: Selection) -> MctsConfig {
    MctsConfig {
        simulations,
        discount: 1.0,
        two_player: true,
        selection,
    }
}

fn puct() -> Selection {
    Selection::Puct(PuctConfig {
        known_bounds: Some([-1.0, 1.0]),
        ..Default::default()
    })
}

fn gumbel() -> Selection {
    Selection::Gumbel(GumbelConfig {
        max_considered_actions: 9,
        ..Default::default()
    })
}

/// X must block O's column (cell 7); every other move loses at once.
const BLOCK: &str = "X O .
                     . O .
                     . . X";

/// X wins at 2 (and would lose at 5 if it blocked instead).
const WIN: &str = "X X .
                   O O .
                   . . .";

/// The action each search of `positions` (searched together) chooses.
fn choices(config: MctsConfig, positions: &[&str], mode: Mode, seed: u64) -> Vec<usize> {
    let mut mcts = Mcts::new(config).unwrap();
    let mut model = TicTacToe { illegal_moves: 0 };
    let mut roots = Evaluations::new(9);
    let boards: Vec<Board> = positions.iter().map(|p| Board::parse(p)).collect();
    for &board in &boards {
        TicTacToe::push(&mut roots, board);
    }
    let mut rng = Rng::seed_from_u64(seed);
    let outputs = mcts.search(&mut model, &mut roots, mode, &mut rng).unwrap();
    assert_eq!(
        model.illegal_moves, 0,
        "the search expanded an occupied cell"
    );
    let mut chosen = Vec::new();
    for (out, board) in outputs.iter().zip(&boards) {
        for (cell, &v) in board.cells.iter().zip(&out.visits) {
            assert!(
                *cell == 0 || v == 0,
                "an occupied cell was visited: {out:?}"
            );
        }
        chosen.push(match out.action {
            Some(a) => a,
            None => select_action(&out.visits, 0.0, &mut rng),
        });
    }
    chosen
}

#[test]
fn puct_blocks_and_wins_at_tic_tac_toe() {
    let config = board_game(400, puct());
    assert_eq!(
        choices(config.clone(), &[BLOCK, WIN], Mode::Evaluate, 0),
        vec![7, 2]
    );
    // With Dirichlet noise at the root, over seeds.
    for seed in 0..5 {
        assert_eq!(
            choices(config.clone(), &[BLOCK, WIN], Mode::Explore, seed),
            vec![7, 2]
        );
    }
    // Unvisited children valued as their parent instead of as the worst seen.
    let parent_value = board_game(
        400,
        Selection::Puct(PuctConfig {
            unvisited_q: UnvisitedQ::ParentValue,
            known_bounds: Some([-1.0, 1.0]),
            ..Default::default()
        }),
    );
    assert_eq!(
        choices(parent_value, &[BLOCK, WIN], Mode::Evaluate, 0),
        vec![7, 2]
    );
}

#[test]
fn gumbel_blocks_and_wins_at_tic_tac_toe() {
    for seed in 0..5 {
        let chosen = choices(
            board_game(200, gumbel()),
            &[BLOCK, WIN],
            Mode::Explore,
            seed,
        );
        assert_eq!(chosen, vec![7, 2], "seed {seed}");
    }
}

/// Simulations per second on tic-tac-toe (the rules are the model, so this is the search's
/// own cost plus a few board copies): `cargo test --release -p reverie-planning --test
/// search -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let (searches, simulations, rounds) = (16, 800, 5);
    for (name, selection) in [("puct", puct()), ("gumbel", gumbel())] {
        let mut mcts = Mcts::new(board_game(simulations, selection)).unwrap();
        let mut model = TicTacToe { illegal_moves: 0 };
        let mut roots = Evaluations::new(9);
        let mut rng = Rng::seed_from_u64(0);
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for _ in 0..searches {
                TicTacToe::push(&mut roots, Board::parse("... ... ..."));
            }
            mcts.search(&mut model, &mut roots, Mode::Explore, &mut rng)
                .unwrap();
        }
        let total = (searches * simulations * rounds) as f64;
        println!(
            "{name}: {:.0} simulations/s ({searches} searches × {simulations} simulations)",
            total / start.elapsed().as_secs_f64()
        );
    }
}
