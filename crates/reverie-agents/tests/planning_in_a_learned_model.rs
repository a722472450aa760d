//! Planning through a learned model of a known 1-D system, s' = s + a, r = −(s + a)²: the
//! best first action from s is −s. The gradient planner (through candle autodiff) and CEM
//! (through `FastDynamics`) must both find it, and the model gradient must match finite
//! differences.

use candle_core::Device;
use reverie_agents::planning::{
    ActionEncoding, ModelGradientObjective, ModelObjective, ModelObjectiveConfig,
};
use reverie_core::{Batch, Rng};
use reverie_models::{
    train, EnsembleModel, EnsembleModelConfig, FastDynamics, KnownFunctions, TrainerConfig,
};
use reverie_planning::{
    ActionBounds, Cem, CemConfig, DifferentiableObjective, GradientPlanner, GradientPlannerConfig,
    Objective, Optimizer,
};

fn trained_model() -> EnsembleModel {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(0);
    let mut data = Batch::default();
    for _ in 0..3000 {
        let s = rng.uniform_range(-1.5, 1.5) as f32;
        let a = rng.uniform_range(-1.0, 1.0) as f32;
        data.obs.push(s);
        data.actions.push(a);
        data.next_obs.push(s + a);
        data.rewards.push(-(s + a) * (s + a));
        data.terminated.push(false);
        data.truncated.push(false);
    }
    let config = EnsembleModelConfig {
        ensemble_size: 2,
        elites: 2,
        hidden_sizes: vec![64, 64],
        probabilistic: false,
        ..Default::default()
    };
    let mut model = EnsembleModel::new(config, 1, 1, &mut rng, &Device::Cpu).unwrap();
    let trainer = TrainerConfig {
        max_epochs: 200,
        patience: 20,
        batch_size: 128,
        lr: 3e-3,
        ..Default::default()
    };
    train(&mut model, &data, &trainer, &mut rng).unwrap();
    model
}

#[test]
fn gradient_and_cem_planners_find_the_best_action_in_the_learned_model() {
    let model = trained_model();
    let horizon = 2;
    let bounds = ActionBounds::uniform(horizon, 1, -1.0, 1.0);
    for start in [0.5f32, -0.3] {
        // Gradient through the model, checked against finite differences first.
        let mut objective = ModelGradientObjective::new(&model, horizon, 1.0);
        objective.set_start(&[start]);
        let seq = [0.2f32, -0.1];
        let (mut v, mut g) = ([0.0f32], [0.0f32; 2]);
        objective.value_and_grad(&seq, &mut v, &mut g);
        for i in 0..2 {
            let (mut plus, mut minus) = (seq, seq);
            plus[i] += 1e-2;
            minus[i] -= 1e-2;
            let (mut vp, mut vm) = ([0.0f32], [0.0f32]);
            objective.evaluate(&plus, &mut vp);
            objective.evaluate(&minus, &mut vm);
            let numeric = (vp[0] - vm[0]) / 2e-2;
            assert!(
                (numeric - g[i]).abs() < 0.05 * (1.0 + g[i].abs()),
                "{numeric} vs {}",
                g[i]
            );
        }
        let mut planner =
            GradientPlanner::new(GradientPlannerConfig::default(), bounds.clone()).unwrap();
        let plan = planner.optimize_differentiable(&mut objective, &mut Rng::seed_from_u64(1));
        assert!(
            (plan.actions[0] + start).abs() < 0.1,
            "gradient: {:?} from {start}",
            plan.actions
        );

        // CEM over the same model through the fast inference path, learned reward head.
        let mut objective = ModelObjective::new(
            Box::new(FastDynamics::new(&model, 1).unwrap()),
            KnownFunctions::default(),
            ModelObjectiveConfig {
                particles: 1,
                sample: false,
                ..Default::default()
            },
            ActionEncoding::Continuous {
                low: vec![-1.0],
                high: vec![1.0],
            },
            horizon,
            Rng::seed_from_u64(2),
        )
        .unwrap();
        objective.set_start(&[start]);
        let mut cem = Cem::new(CemConfig::default(), bounds.clone()).unwrap();
        let plan = cem.optimize(&mut objective, &mut Rng::seed_from_u64(3));
        assert!(
            (plan.actions[0] + start).abs() < 0.1,
            "cem: {:?} from {start}",
            plan.actions
        );
    }
}
