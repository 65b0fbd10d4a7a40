"""Every topic and service a node uses comes from its parameters (graph tests: real nodes over DDS)."""
import pytest

from meld_ros.msg import Action
from meld_ros.srv import SetTask
from meld_ros.runtime.node_runtime import RELIABLE

pytestmark = pytest.mark.graph


def test_services_and_topics_can_be_renamed(start_node, ros_node):
    nodes = [
        start_node("mujoco_bridge_node", {"env": "point2d", "set_task_service": "/other/sim_set_task",
                                          "action_topic": "/other/action"}),
        start_node("reset_rig_node", {"set_task_service": "/other/set_task",
                                      "driver_set_task_service": "/other/sim_set_task"}),
        start_node("belief_node", {"reset_service": "/other/belief_reset"}),
        start_node("policy_node", {"estop_release_service": "/other/estop_release"}),
    ]
    wanted = {"/other/sim_set_task", "/other/set_task", "/other/belief_reset", "/other/estop_release"}

    def services():
        return {name for name, _ in ros_node.get_service_names_and_types()}
    assert ros_node.spin_until(lambda: wanted <= services(), timeout=30), (wanted - services(),
                                                                          [n.stop()[1][-1500:] for n in nodes])
    assert not {"/sim/set_task", "/meld/set_task", "/belief/reset", "/meld/estop_release"} & services()
    # the rig reaches its driver under the new name: a task goes up through both
    client = ros_node.create_client(SetTask, "/other/set_task")
    assert client.wait_for_service(timeout_sec=20)
    future = client.call_async(SetTask.Request(task_id=1, task_set="train", seed=0))
    assert ros_node.spin_until(future.done, timeout=20) and future.result().success
    # the lockstep bridge listens for actions on its action topic
    ros_node.create_publisher(Action, "/other/action", RELIABLE)
    assert ros_node.spin_until(lambda: ros_node.count_subscribers("/other/action") > 0, timeout=20)
