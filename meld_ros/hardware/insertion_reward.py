"""The cable insertion's reward on the real robot, step by step (no ROS here).

Per control step k of an episode (the fused camera observation stamped s_k is
the step's clock), from the newest joint positions q and the rig state
(rotation theta, translation t, target port k*) the rig driver reported:

    dense  r_k = -( ||p - p*|| + c_rot * angle(R, R*) ),   (p, R) = FK(q),  (p*, R*) = port k*'s seat
    sparse r_k = success_k = inserted_k and nearest_port(p) == k*

``inserted`` is the insertion sensor (``insertion_sensor.LinkSensor``: the
plug's link is up); the sensor says *that* the plug is seated, forward
kinematics says *which* port it is in (a plug in another port earns
nothing, as in simulation). A managed switch (``switch_ports.SwitchPortSensor``,
SNMP) says which port itself: success_k = (seated_port == k*). The step index counts observations from the
first one stamped at or after the episode's start (the rig's answer, when
the task is up and the arm is home): step 0 is that reset frame, steps run to
E, and after step E the episode is over (no reward until the next one). The
same (p, R) -> r formula as the simulation: ``widowx_cable.dense_insertion_reward``.
"""
from __future__ import annotations

from dataclasses import dataclass

from meld_ros.hardware.plug_pose import PlugKinematics, RigCalibration
from meld_sim_bridge.envs.widowx_cable import WidowXCableEnv, dense_insertion_reward


@dataclass(frozen=True)
class StepReward:
    step: int
    dense: float
    sparse: float
    success: bool


@dataclass(frozen=True)
class RigState:
    start_ns: int            #: when the task was up and the arm home (the rig driver's TaskState stamp)
    rotation_deg: float
    translation_m: float
    port: int


class InsertionReward:
    """``sensor``: anything with ``inserted() -> bool`` (``LinkSensor``)."""

    def __init__(self, kinematics: PlugKinematics, calibration: RigCalibration, sensor, episode_length: int,
                 rotation_cost: float = WidowXCableEnv.rotation_cost):
        self.kinematics, self.calibration, self.sensor = kinematics, calibration, sensor
        self.E, self.rotation_cost = int(episode_length), float(rotation_cost)
        self.rig: RigState | None = None
        self._next_step = 0
        self._last_ns = -1

    def start_episode(self, rig: RigState) -> None:
        """A new episode from ``rig.start_ns`` on (a task state repeated with the same stamp changes nothing)."""
        if self.rig == rig:
            return
        self.rig, self._next_step, self._last_ns = rig, 0, -1

    @property
    def running(self) -> bool:
        return self.rig is not None and self._next_step <= self.E

    def on_frame(self, ns: int, joint_positions) -> StepReward | None:
        """The reward of the frame stamped ``ns``, or None: no episode, a frame before its start or not after
        the last one, or the episode is over. ValueError for joint positions FK cannot take."""
        if not self.running or ns < self.rig.start_ns or ns <= self._last_ns:
            return None
        p, R = self.kinematics.tip_pose(joint_positions)
        port_p, port_R = self.calibration.port_pose(self.rig.rotation_deg, self.rig.translation_m, self.rig.port)
        dense = dense_insertion_reward(p, R, port_p, port_R, self.rotation_cost)
        if hasattr(self.sensor, "seated_port"):          # a managed switch says which port itself
            success = self.sensor.seated_port() == self.rig.port
        else:
            success = bool(self.sensor.inserted()) and \
                self.calibration.nearest_port(p, self.rig.rotation_deg, self.rig.translation_m) == self.rig.port
        reading = StepReward(self._next_step, dense, float(success), success)
        self._next_step += 1
        self._last_ns = ns
        return reading

