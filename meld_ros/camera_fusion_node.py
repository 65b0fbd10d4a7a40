"""Camera fusion node: N camera topics -> one observation image (64 x 64N).

Two sampling policies (``sampling``). ``match_stamps`` (the simulator):
frames are matched in time within ``slop_s`` (``meld_ros.rosfree.fusion.CameraAligner``),
each resized to ``image_size`` square and put side by side in the order of
``camera_topics``; the observation carries the first camera's stamp. A frame
re-sent with the stamp of the last observation (the bridge's lockstep
heartbeat) re-sends that observation, so a message lost before a late
subscriber matched cannot stall the loop. A
malformed image is logged and dropped; a stale or missing camera is reported
on /diagnostics and no observation is published, never a half-stale one. A
frame older than the last one used is dropped and logged; a camera whose
clock jumped back (``clock_jump_frames`` older frames in a row) is followed,
with a log line saying how far it jumped (``meld_ros.rosfree.stamp_order``).
``newest`` (real webcams, unsynchronised, their stamps off by up to a second
after a restart): a steady timer every ``tick_period_s`` takes the newest
frame of each camera received within ``max_age_s``
(``meld_ros.rosfree.fusion.CameraSampler``) and publishes the observation
stamped with the tick; a camera too old means no observation at that tick
and a diagnostic.
"""
from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image

from meld_ros.rosfree.fusion import CameraAligner, CameraSampler, fuse
from meld_ros.rosfree.images import ImageError, array_to_image, image_to_array
from meld_ros.runtime.node_params import FusionParams, declare
from meld_ros.runtime.node_runtime import RECORDED, RELIABLE, entry_point, ns_of, stamp_of
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.rosfree.stamp_order import LastAnswer, Verdict


class CameraFusionNode(Node):
    def __init__(self, topics=None):
        super().__init__("camera_fusion")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: FusionParams = declare(self, FusionParams)
        if not self.p.camera_topics:
            raise ValueError("camera_fusion needs at least one camera topic")
        self.aligner = CameraAligner(len(self.p.camera_topics), self.p.slop_s, self.p.max_age_s,
                                     resync_after=self.p.clock_jump_frames)
        self.sampler = CameraSampler(len(self.p.camera_topics), self.p.max_age_s)
        self.pub = self.topics.publisher(self, Image, self.p.observation_topic, RECORDED)
        self.diag_pub = self.topics.publisher(self, DiagnosticArray, "/diagnostics", 10)
        self.dropped = [0] * len(self.p.camera_topics)
        self._last = LastAnswer()
        self.published = 0
        for k, topic in enumerate(self.p.camera_topics):
            self.topics.subscribe(self, Image, topic, lambda msg, k=k: self._on_image(k, msg), RELIABLE)
        self.create_timer(self.p.diagnostics_period_s, self._diagnostics)
        if self.p.sampling == "newest":
            self.create_timer(self.p.tick_period_s, self._on_tick, clock=RosClock(clock_type=ClockType.STEADY_TIME))

    def _on_image(self, k: int, msg: Image) -> None:
        try:
            image = image_to_array(msg)
        except ImageError as exc:
            self.dropped[k] += 1
            self.get_logger().warning(f"{self.p.camera_topics[k]}: image dropped: {exc}", throttle_duration_sec=2.0)
            return
        ns = ns_of(msg.header.stamp)
        if self.p.sampling == "newest":
            self.sampler.add(k, ns, image, time.monotonic_ns())
            return
        again = self._last.repeat_for(ns) if k == 0 else None
        if again is not None:
            self.pub.publish(again)               # a re-sent frame (lockstep): pass the same observation on
            return
        frames = self.aligner.add(k, ns, image)
        self._report_order(k, ns)
        if frames is None:
            return
        fused = fuse([f.image for f in frames], self.p.image_size)
        out = array_to_image(fused, stamp_of(frames[0].stamp_ns), frame_id="meld_observation")
        self._last.remember(frames[0].stamp_ns, out)
        self.pub.publish(out)
        self.published += 1

    def _on_tick(self) -> None:
        frames = self.sampler.sample(time.monotonic_ns())
        if frames is None:
            return                                 # a camera missing or too old: diagnostics say which
        fused = fuse([f.image for f in frames], self.p.image_size)
        self.pub.publish(array_to_image(fused, self.get_clock().now().to_msg(), frame_id="meld_observation"))
        self.published += 1

    def _report_order(self, k: int, ns: int) -> None:
        order, topic = self.aligner.order[k], self.p.camera_topics[k]
        if order.verdict is Verdict.STALE:
            self.get_logger().warning(f"{topic}: frame stamped {ns / 1e9:.3f} s, before the last one used: dropped "
                                      f"({order.stale} so far; {self.p.clock_jump_frames} in a row are taken as a "
                                      f"clock that jumped back)", throttle_duration_sec=2.0)
        elif order.verdict is Verdict.JUMPED:
            self.get_logger().warning(f"{topic}: the camera's clock jumped back by {order.jumped_back_ns / 1e9:.3f} s "
                                      f"(restarted, or a frame came stamped in the future): following it from "
                                      f"{ns / 1e9:.3f} s")

    def _diagnostics(self) -> None:
        stale = set(self.sampler.stale_cameras(time.monotonic_ns()) if self.p.sampling == "newest"
                    else self.aligner.stale_cameras(self.get_clock().now().nanoseconds))
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        for k, topic in enumerate(self.p.camera_topics):
            st = DiagnosticStatus(name=f"camera_fusion: {topic}", hardware_id=topic)
            st.level = DiagnosticStatus.STALE if k in stale else DiagnosticStatus.OK
            st.message = "stale or missing: no observations" if k in stale else "ok"
            st.values = [KeyValue(key="dropped_malformed", value=str(self.dropped[k])),
                         KeyValue(key="dropped_out_of_order", value=str(self.aligner.order[k].stale)),
                         KeyValue(key="clock_jumps", value=str(self.aligner.order[k].jumps)),
                         KeyValue(key="observations_published", value=str(self.published))]
            arr.status.append(st)
        self.diag_pub.publish(arr)


NODE = CameraFusionNode    # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
