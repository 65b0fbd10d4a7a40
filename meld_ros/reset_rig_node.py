"""Reset-rig node: sets the task (rig state) and homes the arm between episodes.

Serves ``/meld/set_task`` (``meld_ros/SetTask``) and publishes the resulting
``meld_ros/TaskState`` on ``task_topic`` (latched, so a late subscriber sees
the current task). The ``sim`` driver forwards the request to the MuJoCo
bridge's ``/sim/set_task``, which resets the episode on that task from the
request's seed (the arm homed); the hardware driver (rotation and rail motors,
arm homing) comes later and serves the same interface.
"""
from __future__ import annotations

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node

from meld_ros.msg import TaskState
from meld_ros.runtime.node_params import ResetRigParams, declare
from meld_ros.runtime.node_runtime import LATCHED, entry_point, serve
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.srv import SetTask


DRIVER_WAIT_S = 20.0


class ResetRigNode(Node):
    def __init__(self, topics=None):
        super().__init__("reset_rig")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: ResetRigParams = declare(self, ResetRigParams)
        self.state_pub = self.topics.publisher(self, TaskState, self.p.task_topic, LATCHED)
        # its own callback group: the service awaits the driver's answer, which must not wait for the service
        self.driver = self.create_client(SetTask, self.p.driver_set_task_service,
                                         callback_group=MutuallyExclusiveCallbackGroup())
        serve(self, SetTask, self.p.set_task_service, self._on_set_task)
        self.requests = 0

    async def _on_set_task(self, request: SetTask.Request, response: SetTask.Response) -> SetTask.Response:
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
        self.state_pub.publish(state)
        response.success, response.state = True, state
        return response


main = entry_point(ResetRigNode)


if __name__ == "__main__":
    raise SystemExit(main())
