"""Reset-rig node: sets the task (rig state) and homes the arm between episodes.

Serves ``/meld/set_task`` (``meld_ros/SetTask``) and publishes the resulting
``meld_ros/TaskState`` on ``task_topic`` (latched, so a late subscriber sees
the current task). Two drivers behind that one contract (``driver``):

- ``sim``: the request goes to the MuJoCo bridge's ``/sim/set_task``, which
  resets the episode on that task from the request's seed (the arm homed);
- ``dynamixel``: the real rig (``meld_ros.hardware.rig_motors``): homed at
  start (a missing port or a motor that does not answer stops the node with
  the reason), each request's rig state (a task of ``task_env``'s sets, or
  ``manual``) turned into the housing angle and the rail position and waited
  for; with ``home_arm`` the arm adapter's ``~/home`` is called and its
  homing topic awaited; the motors' torque goes off when the node stops.
"""
from __future__ import annotations

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import String
from std_srvs.srv import Trigger

from meld_core.config import ConfigError
from meld_ros.msg import TaskState
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.runtime.node_params import ResetRigParams, declare
from meld_ros.runtime.node_runtime import LATCHED, entry_point, serve
from meld_ros.srv import SetTask

DRIVER_WAIT_S = 20.0


class ResetRigNode(Node):
    def __init__(self, topics=None):
        super().__init__("reset_rig")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: ResetRigParams = declare(self, ResetRigParams)
        self.state_pub = self.topics.publisher(self, TaskState, self.p.task_topic, LATCHED)
        # its own callback groups: the service awaits answers, which must not wait for the service
        group = self._group = MutuallyExclusiveCallbackGroup()
        self.requests = 0
        self.motors = None
        if self.p.driver == "sim":
            self.driver = self.create_client(SetTask, self.p.driver_set_task_service, callback_group=group)
        else:
            self._open_rig()
            self.arm_home = self.create_client(Trigger, self.p.arm_home_service, callback_group=group)
            self._homed: Future | None = None
            self.create_subscription(String, self.p.arm_homing_topic, self._on_homing, LATCHED, callback_group=group)
        serve(self, SetTask, self.p.set_task_service, self._on_set_task)

    # ---- the simulator ----------------------------------------------------------------
    async def _on_set_task(self, request: SetTask.Request, response: SetTask.Response) -> SetTask.Response:
        if self.p.driver == "dynamixel":
            return await self._set_task_on_rig(request, response)
        if not self.driver.wait_for_service(timeout_sec=DRIVER_WAIT_S):      # it may still be starting
            response.success, response.message = False, f"the rig driver ({self.p.driver_set_task_service}) is not available"
            return response
        self.requests += 1
        result = await self.driver.call_async(request)
        if result is None or not result.success:
            response.success = False
            response.message = "rig driver failed: " + ("no answer" if result is None else result.message)
            return response
        state = result.state
        state.phase = "running"
        state.trial, state.episode = request.trial, request.episode
        self.state_pub.publish(state)
        response.success, response.state = True, state
        return response

    # ---- the real rig -----------------------------------------------------------------
    def _open_rig(self) -> None:
        from meld_ros.hardware.rig_motors import RigError, RigMotors
        from meld_sim_bridge.registry import make_env

        env = make_env(self.p.task_env)              # its task sets (built without rendering)
        self.tasks = {"train": list(env.train_tasks), "held_out": list(env.held_out_tasks)}
        env.close()
        self.geometry = rig_geometry(self.p)
        try:
            self.motors = RigMotors(self.p.dxl_port, self.p.dxl_baudrate, self.geometry)
            self.motors.open()
            self.motors.home()
        except RigError as exc:
            raise ConfigError(f"the reset rig cannot start: {exc}") from None
        self.get_logger().info(f"rig homed on {self.p.dxl_port}")

    def _rig_state(self, request) -> tuple[float, float, int]:
        """(rotation deg, translation m, port) of the request: given by hand, or a task of a task set."""
        if request.task_set == "manual":
            return request.rig_rotation_deg, request.rig_translation_m, request.port
        tasks = self.tasks.get(request.task_set)
        if tasks is None:
            raise ValueError(f"unknown task set {request.task_set!r}; use train, held_out or manual")
        if not 0 <= request.task_id < len(tasks):
            raise ValueError(f"task_id {request.task_id} out of range for {request.task_set} (0..{len(tasks) - 1})")
        t = tasks[request.task_id]
        return t.rotation_deg, t.translation, t.port

    def _on_homing(self, msg: String) -> None:
        if self._homed is not None and not self._homed.done() and msg.data in ("at_home", "failed"):
            self._homed.set_result(msg.data)

    async def _set_task_on_rig(self, request, response):
        from meld_ros.hardware.rig_motors import RigError

        try:
            rotation, translation, port = self._rig_state(request)
            self.motors.move_to(rotation, self.p.rail_center_mm + 1000.0 * translation)
        except (ValueError, RigError) as exc:
            response.success, response.message = False, str(exc)
            return response
        self.requests += 1
        if request.home_arm:
            if not self.arm_home.wait_for_service(timeout_sec=DRIVER_WAIT_S):
                response.success, response.message = False, f"the arm adapter ({self.p.arm_home_service}) is not available"
                return response
            self._homed = Future(executor=self.executor)
            homed = self._homed
            give_up = self.create_timer(self.p.arm_home_timeout_s, lambda: homed.done() or homed.set_result("failed"),
                                        callback_group=self._group)
            answer = await self.arm_home.call_async(Trigger.Request())
            if answer is None or not answer.success:
                response.success, response.message = False, "the arm did not start homing"
                return response
            outcome = await homed
            self.destroy_timer(give_up)
            if outcome != "at_home":
                response.success, response.message = False, (f"the arm did not reach its home pose "
                                                              f"({self.p.arm_homing_topic}: {outcome})")
                return response
        state = TaskState(task_id=request.task_id if request.task_set != "manual" else -1, task_set=request.task_set,
                          rig_rotation_deg=float(rotation), rig_translation_m=float(translation), port=int(port),
                          phase="running", trial=request.trial, episode=request.episode)
        state.header.stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(state)
        response.success, response.state = True, state
        return response

    def on_shutdown(self) -> None:
        if self.motors is not None:
            self.motors.close()                  # torque off


def rig_geometry(p: ResetRigParams):
    """The rig's geometry from its parameters: the rail spans 2 cm about ``rail_center_mm``."""
    from meld_ros.hardware.rig_motors import RigGeometry

    c = p.rail_center_mm
    return RigGeometry(rotary_id=p.rotary_id, rail_id=p.rail_id, gear_ratio=p.gear_ratio, mm_per_turn=p.mm_per_turn,
                       rail_range_mm=(c - 10.0, c + 10.0), move_timeout_s=p.move_timeout_s, homing_speed=p.homing_speed)


main = entry_point(ResetRigNode)


if __name__ == "__main__":
    raise SystemExit(main())
