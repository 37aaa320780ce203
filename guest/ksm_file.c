// SPDX-License-Identifier: GPL-2.0
/*
 * KSM candidates from the page cache of executables and shared libraries
 * (exec_files=1, the default): every guest that runs the same programs has
 * the same bytes in their page cache, and nobody writes them while they
 * are mapped to be executed.
 *
 * Which files: those some process maps executable and not writable (its
 * program, its shared libraries and their read-only segments, which are
 * the same files), found by walking every process's VMAs under its
 * mmap_lock. Files open for write or mapped shared-writable anywhere are
 * left out (their page cache may change under the hint), and so are DAX
 * and hugetlbfs (no page cache). Which pages: the file's folios in the
 * page cache now (filemap_get_folios()) that are up to date. Dirty ones
 * too: tmpfs and ramfs (an initramfs root) keep every page dirty, and a
 * file nobody may write does not change whatever its flags say.
 *
 * The page cache changes (pages are read in, reclaimed, reused for other
 * data), so the set is found anew in every round of ksm_cand.c (at load,
 * then every interval_ms, rate limited to one a second): the pages found
 * are sent (the host does not count a page it has twice; a page another
 * kind of candidate withdrew meanwhile is taken again) and the pages of
 * the last round that were not found again are withdrawn. So a hint is
 * stale for at most one interval. Nothing is walked while the host takes
 * no hints. max_file_pages bounds the set (and the round's work); the
 * processes a round walks are bounded too (PVX_KSM_FILE_TASKS).
 *
 * ro_files=1 (the default) adds the regular files of the root filesystem
 * (init's root, pid 1's) that every user may read and nobody has open for
 * write or maps writable:
 * kernel modules, scripts, data and configuration, which guests of one
 * image hold identically, whether a program maps them or reads them. On
 * an initramfs root (tmpfs, rootfs) the page cache is the files' only
 * copy and every page of them is resident; on a disk root, the pages read
 * so far. They are found by walking the root superblock's inodes, as
 * drop_caches does, and share max_file_pages with exec_files' pages.
 *
 * A round also notes ksm_cand.c's kinds found anew each time (modules'
 * read-only pages, the image's zero pages), so one table and one send
 * bring all of them up to date.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/path.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/xarray.h>

#include "compat.h"		/* struct folio_batch */
#include "pvx_guest.h"
#include "ksm_internal.h"

#define PVX_KSM_FILE_TASKS	1024	/* processes walked per round */
#define PVX_KSM_FILE_FILES	256	/* distinct files per round */
#define PVX_KSM_FILE_PAGES_LIMIT 262144u /* max_file_pages' bound: 1 GiB */

static bool exec_files = true;
module_param(exec_files, bool, 0444);
MODULE_PARM_DESC(exec_files, "send the page cache of files mapped executable and read-only (programs, shared libraries) as KSM candidates, found again every interval_ms (load time; default on)");

static bool ro_files = true;
module_param(ro_files, bool, 0444);
MODULE_PARM_DESC(ro_files, "send the page cache of the root filesystem's regular files that every user may read and nobody has open for write or maps writable (modules, scripts, data) as KSM candidates, found again every interval_ms (load time; default on)");

static unsigned int max_file_pages = 65536;

PVX_KSM_PARAM_OPS_MAX(pvx_ksm_file_max_ops, PVX_KSM_FILE_PAGES_LIMIT);
module_param_cb(max_file_pages, &pvx_ksm_file_max_ops, &max_file_pages, 0644);
MODULE_PARM_DESC(max_file_pages, "page cache pages held as candidates at most (exec_files and ro_files together; 0..262144, default 65536 = 256 MiB; a lower value applies from the next round)");

/* pfn -> xa_mk_value(round it was last found in); under pvx_file_lock */
static DEFINE_XARRAY(pvx_file_pfns);
static DEFINE_MUTEX(pvx_file_lock);
static unsigned long pvx_file_gen;

/* what the last round found (sysfs), under pvx_file_lock */
static unsigned long pvx_file_pages_now;
static unsigned int pvx_file_files;
static unsigned int pvx_file_ro_files;	/* ro_files: files with pages noted */
static bool pvx_file_capped;		/* stopped at max_file_pages */
static unsigned int pvx_file_tasks_left;	/* processes not walked */

/* The files of one round, each held by a reference. */
struct pvx_file_set {
	struct file *f[PVX_KSM_FILE_FILES];
	unsigned int n;
};

/* ---- which files --------------------------------------------------------- */

/* Executable, never written through this mapping, with a page cache. */
static bool pvx_file_vma_wanted(struct vm_area_struct *vma)
{
	return vma->vm_file && (vma->vm_flags & VM_EXEC) &&
	       !(vma->vm_flags & VM_WRITE) &&
	       !vma_is_dax(vma) && !is_vm_hugetlb_page(vma);
}

static void pvx_file_set_add(struct pvx_file_set *set, struct file *file)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (set->f[i]->f_mapping == file->f_mapping)
			return;
	if (set->n < PVX_KSM_FILE_FILES)
		set->f[set->n++] = get_file(file);
}

/*
 * The files @mm maps executable; false when its mmap_lock is taken. The
 * round runs in a workqueue: a process whose mmap_lock is held for write
 * (a long mmap(), a page fault stuck on a FUSE file) must not stall it,
 * and rmmod with it, so the lock is only tried.
 */
static bool pvx_file_walk_mm(struct pvx_file_set *set, struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	if (!mmap_read_trylock(mm))
		return false;
	for_each_vma(vmi, vma)
		if (pvx_file_vma_wanted(vma))
			pvx_file_set_add(set, vma->vm_file);
	mmap_read_unlock(mm);
	return true;
}

/*
 * Take a reference on up to @max user processes (RCU: the task list may
 * change meanwhile; a process that comes later is found next round).
 */
static unsigned int pvx_file_grab_tasks(struct task_struct **tasks,
					unsigned int max)
{
	struct task_struct *p;
	unsigned int n = 0, left = 0;

	rcu_read_lock();
	for_each_process(p) {
		if (p->flags & PF_KTHREAD)
			continue;
		if (n == max) {
			left++;
			continue;
		}
		get_task_struct(p);
		tasks[n++] = p;
	}
	rcu_read_unlock();
	pvx_file_tasks_left = left;
	return n;
}

static void pvx_file_find_files(struct pvx_file_set *set)
{
	unsigned int i, n, pass, busy;
	struct task_struct **tasks;
	struct mm_struct *mm;
	bool walked;

	tasks = kvmalloc_array(PVX_KSM_FILE_TASKS, sizeof(*tasks), GFP_KERNEL);
	if (!tasks)
		return;
	n = pvx_file_grab_tasks(tasks, PVX_KSM_FILE_TASKS);
	/*
	 * Two passes: a process whose mmap_lock was taken is tried again
	 * after all the others (an mmap() or a fault of its own is over by
	 * then); still taken, its files are found by the processes that map
	 * them too, or in the next round (the pages of a file no process
	 * was seen mapping are withdrawn meanwhile, for one interval).
	 */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0, busy = 0; i < n; i++) {
			mm = get_task_mm(tasks[i]);
			if (mm) {
				walked = pvx_file_walk_mm(set, mm);
				mmput(mm);
				if (!walked && !pass) {
					tasks[busy++] = tasks[i];
					continue;
				}
			}
			put_task_struct(tasks[i]);
			cond_resched();
		}
		n = busy;
	}
	kvfree(tasks);
}

/* ---- which pages --------------------------------------------------------- */

/* A file whose page cache may change under a hint is left out. */
static bool pvx_file_stable(struct address_space *mapping)
{
	return !inode_is_open_for_write(mapping->host) &&
	       !mapping_writably_mapped(mapping);
}

bool pvx_ksm_round_note(unsigned long pfn, unsigned long n,
			unsigned long *found, unsigned long cap)
{
	void *old, *now = xa_mk_value(pvx_file_gen);
	unsigned long i;

	lockdep_assert_held(&pvx_file_lock);
	for (i = 0; i < n; i++) {
		if (*found >= cap) {
			pvx_file_capped = true;
			return false;
		}
		old = xa_store(&pvx_file_pfns, pfn + i, now, GFP_KERNEL);
		if (xa_is_err(old))
			return false;
		/* a page two files share (or two kinds) counts once */
		if (old != now)
			(*found)++;
	}
	return true;
}

/*
 * Note the folios of @mapping's page cache a hint can stand for; false
 * when the round must stop.
 */
static bool pvx_file_find_pages(struct address_space *mapping,
				unsigned long *found)
{
	struct folio_batch fbatch;
	struct folio *folio;
	pgoff_t index = 0;
	bool room = true;
	unsigned int i;

	folio_batch_init(&fbatch);
	while (room && filemap_get_folios(mapping, &index, (pgoff_t)-1, &fbatch)) {
		for (i = 0; room && i < folio_batch_count(&fbatch); i++) {
			folio = fbatch.folios[i];
			if (!folio_test_uptodate(folio))
				continue;
			room = pvx_ksm_round_note(folio_pfn(folio),
						  folio_nr_pages(folio), found,
						  READ_ONCE(max_file_pages));
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return room;
}

/* ---- ro_files: the root filesystem's files ------------------------------- */

/* init's root: its mount (and so its superblock) pinned by the path. */
static bool pvx_file_root(struct path *root)
{
	struct task_struct *init;
	bool got = false;

	rcu_read_lock();
	init = pid_task(find_vpid(1), PIDTYPE_PID);
	if (init)
		get_task_struct(init);
	rcu_read_unlock();
	if (!init)
		return false;
	task_lock(init);
	if (init->fs) {
		get_fs_root(init->fs, root);
		got = true;
	}
	task_unlock(init);
	put_task_struct(init);
	return got;
}

/* Under inode->i_lock: an inode that may be pinned (__iget()). */
static bool pvx_file_inode_live(struct inode *inode)
{
	return !(inode_state_read(inode) & (I_FREEING | I_WILL_FREE | I_NEW));
}

/*
 * Under inode->i_lock, of a live inode: a regular file with a page cache,
 * that every user may read. A file only its owner or group may read (a
 * private key, /etc/shadow) may hold a secret whose guess another VM could
 * confirm through a merge; it is left to KSM's blind scan, as without pvx.
 */
static bool pvx_file_inode_wanted(struct inode *inode)
{
	return S_ISREG(inode->i_mode) && (inode->i_mode & 0004) &&
	       inode->i_mapping->nrpages;
}

/*
 * Note the page cache of the root filesystem's files nobody writes; false
 * when the round must stop. The inode list is walked as drop_caches does
 * (drop_pagecache_sb()): the reference on an inode keeps it on the list
 * while the lock is dropped to read its pages, and the last one is let go
 * after the next is taken. An inode the round does not want is skipped
 * under the lock, unless the CPU is wanted elsewhere: then it is pinned
 * like a wanted one, the lock dropped and the CPU given up, and the walk
 * goes on from it. So an unprivileged user's million empty files do not
 * make every round hold s_inode_list_lock without a break (a soft lockup).
 */
static bool pvx_file_find_root(unsigned long *found)
{
	struct inode *inode, *prev = NULL;
	struct super_block *sb;
	unsigned int files = 0;
	struct path root;
	bool room = true, wanted;

	pvx_file_ro_files = 0;
	if (!pvx_file_root(&root))
		return true;
	sb = root.mnt->mnt_sb;
	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if (!pvx_file_inode_live(inode)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		wanted = pvx_file_inode_wanted(inode);
		if (!wanted && !need_resched()) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		iput(prev);
		prev = inode;
		if (wanted && pvx_file_stable(inode->i_mapping)) {
			files++;
			room = pvx_file_find_pages(inode->i_mapping, found);
		}
		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
		if (!room)
			break;
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(prev);
	path_put(&root);
	pvx_file_ro_files = files;
	return room;
}

/* ---- sending ------------------------------------------------------------- */

/* Withdraw the pages not found this round (and forget them), send the rest. */
static void pvx_file_send(void)
{
	struct pvx_ksm_sender s;
	unsigned long pfn;
	void *e;

	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, true, PVX_KSM_MERGEABLE, false);
	xa_for_each(&pvx_file_pfns, pfn, e) {
		if (xa_to_value(e) == pvx_file_gen)
			continue;
		pvx_ksm_send_run(&s, pfn, 1);
		xa_erase(&pvx_file_pfns, pfn);
	}
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_CAND_WITHDRAWN, s.done);

	pvx_ksm_send_start(&s, false, PVX_KSM_MERGEABLE, false);
	xa_for_each(&pvx_file_pfns, pfn, e)
		pvx_ksm_send_run(&s, pfn, 1);
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_CAND_ADDED, s.done);
	mutex_unlock(&pvx_ksm_lock);
}

/* The page cache of exec_files' files; false when the round must stop. */
static bool pvx_file_find_exec(struct pvx_file_set *set, unsigned long *found)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (pvx_file_stable(set->f[i]->f_mapping) &&
		    !pvx_file_find_pages(set->f[i]->f_mapping, found))
			return false;
	return true;
}

static void pvx_file_set_put(struct pvx_file_set *set)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		fput(set->f[i]);
	kfree(set);
}

/*
 * A round (at load and every interval_ms, from ksm_cand.c): find the
 * files and their pages, and ksm_cand.c's kinds, then bring the host's
 * view up to date.
 */
void pvx_ksm_file_round(void)
{
	struct pvx_file_set *set = NULL;
	unsigned long found = 0;
	bool room = true;

	if (!(exec_files || ro_files || pvx_ksm_cand_round_wanted()) ||
	    !pvx_host_has(PVX_F_KSM_HINT))
		return;
	if (exec_files) {
		set = kzalloc(sizeof(*set), GFP_KERNEL);
		if (!set)
			return;
		pvx_file_find_files(set);
	}
	mutex_lock(&pvx_file_lock);
	/* never 0: entries of the rounds before hold other values */
	pvx_file_gen = (pvx_file_gen + 1) & (LONG_MAX >> 1) ?: 1;
	pvx_file_capped = false;
	if (set)
		room = pvx_file_find_exec(set, &found);
	if (ro_files && room)
		room = pvx_file_find_root(&found);
	pvx_file_files = set ? set->n : 0;
	pvx_file_pages_now = found;
	/* files may fill their cap: the other kinds still have room */
	if (room || pvx_file_capped)
		pvx_ksm_cand_note_round();
	pvx_file_send();
	mutex_unlock(&pvx_file_lock);
	if (set)
		pvx_file_set_put(set);
}

/* ---- sysfs --------------------------------------------------------------- */

static ssize_t file_pages_now_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_file_pages_now));
}

static ssize_t file_files_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pvx_file_files));
}

static ssize_t file_capped_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(pvx_file_capped));
}

static ssize_t file_tasks_left_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pvx_file_tasks_left));
}

static ssize_t ro_file_files_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pvx_file_ro_files));
}

static struct kobj_attribute pvx_file_now_attr = __ATTR_RO(file_pages_now);
static struct kobj_attribute pvx_file_ro_attr = __ATTR_RO(ro_file_files);
static struct kobj_attribute pvx_file_files_attr = __ATTR_RO(file_files);
static struct kobj_attribute pvx_file_cap_attr = __ATTR_RO(file_capped);
static struct kobj_attribute pvx_file_left_attr = __ATTR_RO(file_tasks_left);

struct attribute *pvx_ksm_file_attrs[] = {
	&pvx_file_now_attr.attr,
	&pvx_file_files_attr.attr,
	&pvx_file_cap_attr.attr,
	&pvx_file_left_attr.attr,
	&pvx_file_ro_attr.attr,
	NULL
};

/* ---- unload -------------------------------------------------------------- */

/* After the last round: the host holds none of these candidates. */
void pvx_ksm_file_exit(void)
{
	mutex_lock(&pvx_file_lock);
	/* no entry has this value: all are withdrawn */
	pvx_file_gen = 0;
	pvx_file_send();
	xa_destroy(&pvx_file_pfns);
	pvx_file_pages_now = 0;
	pvx_file_ro_files = 0;
	pvx_ksm_cand_round_clear();
	mutex_unlock(&pvx_file_lock);
}
