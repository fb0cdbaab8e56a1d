"""Detection data: COCO, YOLO and Pascal VOC labels, conversion, checks, synthetic shapes.

Every format reads into the same in-memory model (:mod:`.annotations`): boxes are ``xyxy`` in
absolute pixels, class ids contiguous from 0, masks as polygons or COCO RLE, keypoints as COCO
``x, y, v`` triples. Modules (imported on demand, they pull in numpy and Pillow):

- :mod:`.coco`, :mod:`.yolo`, :mod:`.voc`: ``read_*(path) -> (dataset, problems)`` and
  ``write_*(dataset, out_dir) -> out_dir``.
- :mod:`.masks`: RLE (both encodings), polygons and instance-id PNG masks.
- :mod:`.convert`: :func:`convert`, :func:`detect_format`.
- :mod:`.check`: :func:`check_dataset` for ``visiona data check``.
- :mod:`.shapes`: :func:`make_shapes`, the synthetic circles / squares / triangles set.
"""
